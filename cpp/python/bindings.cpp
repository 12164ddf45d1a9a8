// hermnet._core: the C++ core for Python. numpy in, numpy out; no torch types cross the
// boundary (so no libtorch_python). Python imports torch first (hermnet.export.core).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "hermnet/keys.hpp"
#include "hermnet/model.hpp"
#include "hermnet/neighbor_list.hpp"

namespace py = pybind11;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

void require_shape(const py::array& a, const char* name, std::initializer_list<py::ssize_t> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  py::ssize_t k = 0;
  for (py::ssize_t s : shape) {
    ok = ok && (s < 0 || a.shape(k) == s);
    ++k;
  }
  if (!ok) {
    std::string want;
    for (py::ssize_t s : shape) {
      want += (want.empty() ? "" : ", ") + (s < 0 ? std::string("any") : std::to_string(s));
    }
    throw py::value_error(std::string(name) + " must have shape (" + want + ")");
  }
}

template <typename T>
py::array_t<T> to_numpy(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> out(shape);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

py::tuple neighbor_list(const Array<double>& positions, const Array<double>& cell,
                        const py::array_t<bool, py::array::c_style | py::array::forcecast>& pbc,
                        double cutoff) {
  require_shape(positions, "positions", {-1, 3});
  require_shape(cell, "cell", {3, 3});
  require_shape(pbc, "pbc", {3});
  std::array<double, 9> c{};
  std::array<bool, 3> p{};
  std::memcpy(c.data(), cell.data(), sizeof(c));
  for (int k = 0; k < 3; ++k) p[k] = pbc.data()[k];
  const size_t n = static_cast<size_t>(positions.shape(0));
  hermnet::NeighborList nl;
  {
    py::gil_scoped_release release;
    nl = hermnet::build_neighbor_list(positions.data(), n, c, p, cutoff);
  }
  const auto e = static_cast<py::ssize_t>(nl.size());
  std::vector<int64_t> edge_index(nl.centers);
  edge_index.insert(edge_index.end(), nl.neighbors.begin(), nl.neighbors.end());
  return py::make_tuple(to_numpy(edge_index, {2, e}), to_numpy(nl.shifts, {e, 3}),
                        to_numpy(nl.cell_shifts, {e, 3}));
}

hermnet::Inputs graph_inputs(const Array<double>& positions, const Array<int64_t>& types,
                             const Array<int64_t>& edge_index, const Array<double>& edge_shift,
                             int64_t n_local) {
  require_shape(positions, "positions", {-1, 3});
  const py::ssize_t n = positions.shape(0);
  require_shape(types, "types", {n});
  require_shape(edge_index, "edge_index", {2, -1});
  const py::ssize_t e = edge_index.shape(1);
  require_shape(edge_shift, "edge_shift", {e, 3});
  hermnet::Inputs in;
  in.positions = positions.data();
  in.types = types.data();
  in.n_all = n;
  in.centers = edge_index.data();
  in.neighbors = edge_index.data() + e;
  in.shifts = edge_shift.data();
  in.n_edges = e;
  in.n_local = n_local;
  return in;
}

py::dict to_dict(const hermnet::Outputs& out, py::ssize_t n, const hermnet::Request& request) {
  const py::ssize_t n_loc = static_cast<py::ssize_t>(out.atomic_energy.size());
  py::dict result;
  result[hermnet::keys::ENERGY] = to_numpy(std::vector<double>{out.energy}, {1});
  result[hermnet::keys::ATOMIC_ENERGY] = to_numpy(out.atomic_energy, {n_loc});
  if (request.forces) result[hermnet::keys::FORCES] = to_numpy(out.forces, {n, 3});
  if (request.virial) {
    result[hermnet::keys::VIRIAL] =
        to_numpy(std::vector<double>(out.virial.begin(), out.virial.end()), {3, 3});
  }
  if (request.atomic_virial) {
    result[hermnet::keys::ATOMIC_VIRIAL] = to_numpy(out.atomic_virial, {n, 3, 3});
  }
  return result;
}

py::dict compute(const hermnet::Model& model, const Array<double>& positions,
                 const Array<int64_t>& types, const Array<int64_t>& edge_index,
                 const Array<double>& edge_shift, int64_t n_local, bool forces, bool virial,
                 bool atomic_virial) {
  const hermnet::Inputs in = graph_inputs(positions, types, edge_index, edge_shift, n_local);
  const hermnet::Request request{forces, virial, atomic_virial};
  hermnet::Outputs out;
  {
    py::gil_scoped_release release;
    out = model.compute(in, request);
  }
  return to_dict(out, in.n_all, request);
}

// One domain whose ghost rows copy the local rows named by `owner` (hermnet::OwnerExchange).
py::dict compute_exchanged(const hermnet::Model& model, const Array<double>& positions,
                           const Array<int64_t>& types, const Array<int64_t>& edge_index,
                           const Array<double>& edge_shift, int64_t n_local,
                           const Array<int64_t>& owner, bool forces, bool virial,
                           bool atomic_virial) {
  const hermnet::Inputs in = graph_inputs(positions, types, edge_index, edge_shift, n_local);
  require_shape(owner, "owner", {in.n_all});
  hermnet::OwnerExchange exchange(std::vector<int64_t>(owner.data(), owner.data() + in.n_all),
                                  n_local);
  const hermnet::Request request{forces, virial, atomic_virial};
  hermnet::Outputs out;
  {
    py::gil_scoped_release release;
    out = model.compute_exchanged(in, exchange, request);
  }
  return to_dict(out, in.n_all, request);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "HermNet C++ inference core (libtorch): exported models and the neighbor list";
  m.attr("FORMAT_VERSION") = hermnet::keys::FORMAT_VERSION;
  py::register_exception<hermnet::Error>(m, "ModelError", PyExc_RuntimeError);

  m.def("neighbor_list", &neighbor_list, py::arg("positions"), py::arg("cell"), py::arg("pbc"),
        py::arg("cutoff"),
        "(edge_index [2, E] int64, edge_shift [E, 3] float64 Å, cell_shifts [E, 3] int32), "
        "sorted like hermnet.data.build_graph");

  m.def("keep_host_heap", &hermnet::keep_host_heap,
        "Keep freed host memory in the C library's heap between steps (what loading a CPU "
        "Model does; HERMNET_KEEP_HEAP=0 opts out); returns what was done");
  m.def("fused_threads_reached", &hermnet::fused_threads_reached,
        "Distinct threads that run the fused operators' parallel loops (torch's pool)");
  m.def("fused_vector_bytes", &hermnet::fused_vector_bytes,
        "Vector bytes of the fused filter kernels on this CPU: 64 (AVX-512), 32 (AVX2) or 16");

  py::class_<hermnet::Model>(m, "Model")
      .def(py::init<const std::string&, const std::string&>(), py::arg("path"),
           py::arg("device") = "cpu")
      .def_property_readonly("path", &hermnet::Model::path)
      .def_property_readonly("device", &hermnet::Model::device)
      .def_property_readonly("metadata_json",
                             [](const hermnet::Model& model) { return model.metadata().json; })
      .def_property_readonly("dtype",
                             [](const hermnet::Model& model) { return model.metadata().dtype; })
      .def_property_readonly("cutoff",
                             [](const hermnet::Model& model) { return model.metadata().cutoff; })
      .def_property_readonly("elements",
                             [](const hermnet::Model& model) { return model.metadata().elements; })
      .def_property_readonly(
          "atomic_numbers",
          [](const hermnet::Model& model) { return model.metadata().atomic_numbers; })
      .def("types_of", &hermnet::Model::types_of, py::arg("atomic_numbers"))
      .def("compute", &compute, py::arg("positions"), py::arg("types"), py::arg("edge_index"),
           py::arg("edge_shift"), py::arg("n_local") = -1, py::arg("compute_forces") = true,
           py::arg("compute_virial") = false, py::arg("compute_atomic_virial") = false)
      .def("compute_exchanged", &compute_exchanged, py::arg("positions"), py::arg("types"),
           py::arg("edge_index"), py::arg("edge_shift"), py::arg("n_local"), py::arg("owner"),
           py::arg("compute_forces") = true, py::arg("compute_virial") = false,
           py::arg("compute_atomic_virial") = false,
           "hop by hop, ghost row g refreshed from local row owner[g] after every hop")
      .def_property_readonly("has_hop_interface", &hermnet::Model::has_hop_interface)
      .def_property("chunk_edges", &hermnet::Model::chunk_edges, &hermnet::Model::set_chunk_edges,
                    "evaluate graphs with more edges in chunks of at most this many (0: whole)")
      .def(
          "self_check",
          [](const hermnet::Model& model) {
            hermnet::SelfCheckResult r;
            {
              py::gil_scoped_release release;
              r = model.self_check();
            }
            return py::make_tuple(r.passed, r.report);
          },
          "(passed, report): evaluate the embedded frame with the C++ neighbor list");
}
