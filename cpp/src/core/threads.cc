#include <omp.h>

#include "ember/ops.h"
#include "kernels/cpu/cpu_features.h"

namespace ember {

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive number of threads, got ", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

const char* cpu_isa() { return cpu::isa_name(); }

}  // namespace ember
