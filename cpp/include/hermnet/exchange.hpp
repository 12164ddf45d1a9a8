// Ghost-feature exchange between message-passing hops (Model::compute_exchanged).
//
// An engine that splits a system over domains gives the model its local atoms and the ghost
// atoms within one cutoff of them. After every hop only local atoms' features are exact; the
// engine refreshes each ghost's row from the ghost's owner (forward) and, in the backward
// pass, sends the gradient that reached a ghost's row home to be added to its owner's row
// (reverse). Rows are model atoms (local first, then ghosts), `width` doubles each.
#pragma once

#include <cstdint>
#include <vector>

namespace hermnet {

class GhostExchange {
 public:
  virtual ~GhostExchange() = default;
  // On entry the rows of local atoms are exact; on return each ghost row is its owner's row.
  virtual void forward(double* rows, int64_t n_rows, int64_t width) = 0;
  // On entry every row holds a gradient; on return each local row holds its own gradient
  // plus those of all copies of that atom (on any domain). Ghost rows are then ignored.
  virtual void reverse(double* rows, int64_t n_rows, int64_t width) = 0;
};

// Exchange within one process from an owner table: owner[g] is the local row that ghost row
// g copies (owner[i] == i for local rows). Used by the Python module and the tests.
class OwnerExchange : public GhostExchange {
 public:
  explicit OwnerExchange(std::vector<int64_t> owner, int64_t n_local);
  void forward(double* rows, int64_t n_rows, int64_t width) override;
  void reverse(double* rows, int64_t n_rows, int64_t width) override;

 private:
  std::vector<int64_t> owner_;
  int64_t n_local_;
};

}  // namespace hermnet
