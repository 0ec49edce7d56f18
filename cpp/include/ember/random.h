// The global random generator behind rand/randn/randint/randperm, dropout and weight init.
// xoshiro256** seeded through splitmix64: fast, statistically strong, and its whole state is four
// words, so a checkpoint can store it and resume the exact same random stream.
#pragma once

#include <array>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) { seed_with(seed); }
  void seed_with(uint64_t seed);
  uint64_t next_u64();
  double next_double();  // U[0, 1), 53 bits
  float next_float();    // U[0, 1), 24 bits
  double next_normal();  // N(0, 1)
  uint64_t next_below(uint64_t n);  // uniform in [0, n), unbiased

  // State for checkpoints: the four words, the cached second normal and its flag.
  std::array<uint64_t, 6> state() const;
  void set_state(const std::array<uint64_t, 6>& s);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace ember
