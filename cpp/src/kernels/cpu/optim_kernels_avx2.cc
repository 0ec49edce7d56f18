// optim_kernels.cc compiled with -mavx2 -mfma (the *_avx2.cc rule in CMakeLists.txt): std::fma
// becomes vfmadd and the loops vectorize 8 floats wide. Same source, same bits as the baseline
// build; optim.cc picks this one when cpu::use_avx2().
#define EMBER_OPTIM_KERNELS_NAME optim_kernels_avx2
#include "kernels/cpu/optim_kernels.cc"
