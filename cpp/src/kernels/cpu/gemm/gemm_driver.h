// The blocked GEMM driver (Goto & van de Geijn; the BLIS five-loop structure), written once and
// instantiated by each ISA translation unit with its own micro-kernel:
//
//   for jc in N by NC            -- packed B block (KC x NC) lives in L3
//     for pc in K by KC          -- K blocks: fixed by K alone, so every thread count adds the
//                                   same partial sums in the same order (bitwise reproducible)
//       pack B block             -- shared by the team: each thread packs a slice, then a barrier
//       for ic in M by MC        -- packed A block (MC x KC) lives in L2
//         pack A block
//         for jr in NC by NR     -- one B micro-panel (KC x NR) stays in L1 ...
//           for ir in MC by MR   -- ... while the A micro-panels stream past it from L2
//             micro-kernel: MR x NR tile of C in registers, kc rank-1 updates
//
// Threads split C, never K, so each C element is computed by one thread in the same order:
//  * tall A (more rows than one MC block): the team packs the shared B block (runs of panels
//    from a dynamic schedule, then a barrier) and takes MC blocks of rows from a dynamic
//    schedule, each thread packing its own A block into its L2;
//  * short A (M = 64 MLP batches, im2col convs with M = 6..16): every thread packs all of A and
//    takes runs of B micro-panels from a dynamic schedule, packing each run right before use
//    (row by row, so the reads stream) or, for a single A micro-panel and row-major B, reading
//    B in place.
// The dynamic schedule lets the faster thread take more when a core is shared with other work.
//
// Operands: A is packed from strided memory, or was packed once beforehand (Args::A_packed, in
// the layout pack_a_all writes); B is packed from strided memory or gathered from an image
// (Args::B_im2col: the convolutions' implicit im2col).
//
// Kern provides: T, MR, NR, MC, KC, NC, kernel(), pack_a(), pack_b(), copy_run(), gather_t()
// (see gemm_kernel_avx512.h).
//
// Included only by ISA translation units; the anonymous namespace gives each its own copy.
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/gemm/gemm_impl.h"
#include "kernels/cpu/gemm/gemm_pack.h"

namespace ember::kernels::gemm_impl {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// The threads of one call. With one thread everything runs inline and OpenMP is never entered:
// no fork, no barrier (which would also be wrong when the caller is itself inside a parallel
// region), no futex wake-ups - those cost more than a small product.
struct Team {
  int nt = 1;

  template <class Body>
  void run(Body&& body) const {
    if (nt == 1) {
      body(0);
      return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    body(omp_get_thread_num());
#else
    body(0);  // unreachable: without OpenMP the thread count is always 1
#endif
  }

  // fn(i) for i in [0, count), shared out one at a time (the faster thread takes more when a
  // core is shared with other work); all threads wait at the end.
  template <class Fn>
  void for_dynamic(int64_t count, Fn&& fn) const {
    if (nt == 1) {
      for (int64_t i = 0; i < count; ++i) fn(i);
      return;
    }
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (int64_t i = 0; i < count; ++i) fn(i);
  }
};

// How one call is carried out; a function of the shape and the thread count only.
struct Plan {
  int threads = 1;
  // Short A (all rows fit one MC block): every thread packs all of A and the team shares out
  // runs of B micro-panels. Otherwise the team packs a shared B block and shares out row blocks.
  bool short_a = false;
  // The micro-kernel reads B where it lies (row-major B only) instead of from a packed copy:
  // with a single A micro-panel each B element is used once, so a copy would be read once too.
  bool b_direct = false;
  int64_t mc = 0;  // rows per row block (a multiple of MR)
};

// Row blocks are at least this tall when split for threads (B panels stream from L3 once per
// block, so very short blocks would spend their time there).
constexpr int64_t kMinRowBlock = 48;
// Short A: a run of B micro-panels packed together should fit in L2 beside the A block.
constexpr int64_t kShortRunBytes = 128 * 1024;
// Short A packed whole (all K blocks) up to this size per thread: it is swept once per run of B
// panels, so it should stay in L2.
constexpr int64_t kWholeABytes = 512 * 1024;

template <class Kern>
Plan make_plan(const Args<typename Kern::T>& p, int max_threads) {
  constexpr int64_t MR = Kern::MR, NR = Kern::NR;
  const int64_t P = ceil_div(p.M, MR), Q = ceil_div(p.N, NR);  // micro-panel counts
  Plan plan;
  plan.short_a = P * MR <= Kern::MC;
  const int64_t items = plan.short_a ? Q : ceil_div(p.M, kMinRowBlock);
  int nt = max_threads < 1 ? 1 : max_threads;
  if (nt > items) nt = static_cast<int>(items);
  plan.threads = nt;
  if (plan.short_a) {
    plan.mc = P * MR;
    plan.b_direct = p.B_im2col == nullptr && p.csb == 1 && P == 1;
  } else {
    // Row blocks of equal height, none over MC, a multiple of the thread count (so equal threads
    // finish together) and, where M allows, up to 3 per thread (so the dynamic schedule can hand
    // more to a thread whose neighbour is slowed down) without going under kMinRowBlock rows.
    int64_t blocks = ceil_div(p.M, Kern::MC);
    if (nt > 1) {
      int64_t per_thread = p.M / (nt * kMinRowBlock);
      per_thread = per_thread < 1 ? 1 : (per_thread > 3 ? 3 : per_thread);
      if (blocks < nt * per_thread) blocks = nt * per_thread;
      blocks = ceil_div(blocks, nt) * nt;
    }
    plan.mc = ceil_div(ceil_div(p.M, blocks), MR) * MR;
  }
  return plan;
}

// C = A B is also C^T = B^T A^T: the same numbers (each element is the same chain of FMAs over
// k, and a*b == b*a), with the roles of rows and columns swapped.
template <typename T>
Args<T> transposed(const Args<T>& p) {
  return Args<T>{p.N, p.M, p.K, p.alpha, p.B, p.csb, p.rsb, p.A, p.csa, p.rsa, p.beta, p.C, p.csc, p.rsc};
}

// Tiles cost MR-row slivers exactly (the kernel has short-row variants) but always NR columns,
// so a product with few columns (a 10-class output layer, a matrix-vector product) wastes most
// of every tile. Solve the transposed product when that pads much less; C^T is then written
// through the kernel's strided path, hence the margin.
template <class Kern, typename T>
bool better_transposed(const Args<T>& p) {
  constexpr int64_t NR = Kern::NR;
  if (p.A_packed != nullptr || p.B_im2col != nullptr) return false;  // only strided operands swap
  const int64_t cost = p.M * (ceil_div(p.N, NR) * NR);
  const int64_t cost_t = p.N * (ceil_div(p.M, NR) * NR);
  return 4 * cost_t < 3 * cost;
}

// K blocks: equal-sized and no larger than KC (a K of 300 runs as 150 + 150, not 256 + 44).
template <class Kern>
int64_t k_block(int64_t K) {
  return ceil_div(K, ceil_div(K, Kern::KC));
}

// Elements of A packed whole: every MR-row micro-panel of every K block.
template <class Kern>
int64_t packed_a_size(int64_t M, int64_t K) {
  return ceil_div(M, Kern::MR) * Kern::MR * K;
}

// A packed whole, K block by K block: block pc (a multiple of k_block) starts at Mpad * pc, its
// micro-panel of rows [ir, ir + MR) at + ir * kcb: the layout run_blocked packs one block into.
template <class Kern>
void pack_a_all(int64_t M, int64_t K, const typename Kern::T* A, int64_t rsa, int64_t csa, typename Kern::T* dst) {
  constexpr int64_t MR = Kern::MR;
  const int64_t kc_max = k_block<Kern>(K), Mpad = ceil_div(M, MR) * MR;
  for (int64_t pc = 0; pc < K; pc += kc_max) {
    const int64_t kcb = min64(kc_max, K - pc);
    for (int64_t ir = 0; ir < M; ir += MR)
      Kern::pack_a(min64(MR, M - ir), kcb, A + ir * rsa + pc * csa, rsa, csa, dst + Mpad * pc + ir * kcb);
  }
}

// Packs B columns [j0, j0 + n), rows [pc, pc + kcb) into consecutive NR micro-panels.
template <class Kern>
void pack_b_range(const Args<typename Kern::T>& p, int64_t j0, int64_t n, int64_t pc, int64_t kcb,
                  typename Kern::T* dst) {
  if (p.B_im2col != nullptr) {
    if (p.B_im2col->transposed)
      pack_bt_im2col<Kern>(*p.B_im2col, j0, n, pc, kcb, dst);
    else
      pack_b_im2col<Kern>(*p.B_im2col, j0, n, pc, kcb, dst);
    return;
  }
  pack_b_panels<Kern::NR>(n, kcb, p.B + pc * p.rsb + j0 * p.csb, p.rsb, p.csb, dst, Kern::pack_b);
}

template <class Kern>
void run_blocked(const Args<typename Kern::T>& args, int max_threads) {
  using T = typename Kern::T;
  constexpr int64_t MR = Kern::MR, NR = Kern::NR;
  const Args<T> p = better_transposed<Kern>(args) ? transposed(args) : args;
  const int64_t M = p.M, N = p.N, K = p.K;

  const int64_t kc_max = k_block<Kern>(K);
  const int64_t Mpad = ceil_div(M, MR) * MR;
  const Plan plan = make_plan<Kern>(p, max_threads);
  const Team team{plan.threads};
  const int nt = plan.threads;
  const int64_t mc = plan.mc;

  // Kernels for rows [0, mcb) of a packed A block against one B micro-panel (nr valid
  // columns), C tile column starting at cp.
  auto sweep = [&](const T* abuf, int64_t mcb, const T* bp, int64_t ldb, int64_t kcb, T beta, T* cp, int64_t nr) {
    for (int64_t ir = 0; ir < mcb; ir += MR)
      Kern::kernel(kcb, p.alpha, abuf + ir * kcb, bp, ldb, beta, cp + ir * p.rsc, p.rsc, p.csc, min64(MR, mcb - ir),
                   nr);
  };
  // The packed rows [ic, ic + mcb) of K block pc: packed into abuf now, or found in A_packed.
  auto a_block = [&](int64_t ic, int64_t mcb, int64_t pc, int64_t kcb, T* abuf) -> const T* {
    if (p.A_packed != nullptr) return p.A_packed + Mpad * pc + ic * kcb;
    const T* ablk = p.A + ic * p.rsa + pc * p.csa;
    for (int64_t ir = 0; ir < mcb; ir += MR)
      Kern::pack_a(min64(MR, mcb - ir), kcb, ablk + ir * p.rsa, p.rsa, p.csa, abuf + ir * kcb);
    return abuf;
  };

  if (plan.short_a) {
    // Work items: runs of B micro-panels packed together right before use (the run fits in L2,
    // each panel stays in L1 during its sweep); a few runs per thread.
    const int64_t Q = ceil_div(N, NR);
    const int64_t per_l2 = kShortRunBytes / (NR * kc_max * static_cast<int64_t>(sizeof(T)));
    int64_t run = per_l2 < 1 ? 1 : per_l2;
    if (nt > 1 && run > ceil_div(Q, 4 * nt)) run = ceil_div(Q, 4 * nt);
    const int64_t runs = ceil_div(Q, run);
    // Kernels that read B rows from an image (two vectors per row) skip packing for it.
    const bool image_rows = Kern::kImageRows && NR == 2 * Kern::VW && p.B_im2col != nullptr && !p.B_im2col->transposed;
    // One run of B panels against K block pc (A rows of that block at ablk).
    auto run_block = [&](int64_t r, int64_t pc, int64_t kcb, T beta, const T* ablk, T* pbuf) {
      const int64_t q0 = r * run, q1 = min64(Q, q0 + run);
      if (image_rows) {
        // Panels whose vectors are runs of the image are read from it in place (no copy);
        // the others (row ends inside a vector, the ragged last panel) are packed.
        const Im2colSource<T>& v = *p.B_im2col;
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t nr = min64(NR, N - q * NR);
          T* cq = p.C + q * NR * p.csc;
          int64_t whole[NR / Kern::VW];
          if (whole_vectors<NR, Kern::VW>(v, q * NR, nr, whole)) {
            if constexpr (Kern::kImageRows) {
              for (int64_t ir = 0; ir < M; ir += MR)
                Kern::kernel_image(kcb, p.alpha, ablk + ir * kcb, v.base + whole[0], v.base + whole[1],
                                   v.off + pc, beta, cq + ir * p.rsc, p.rsc, p.csc, min64(MR, M - ir), nr);
            }
          } else {
            pack_b_range<Kern>(p, q * NR, nr, pc, kcb, pbuf);
            sweep(ablk, M, pbuf, NR, kcb, beta, cq, nr);
          }
        }
        return;
      }
      if (!plan.b_direct) {
        pack_b_range<Kern>(p, q0 * NR, min64(N, q1 * NR) - q0 * NR, pc, kcb, pbuf);
        for (int64_t q = q0; q < q1; ++q)
          sweep(ablk, M, pbuf + (q - q0) * NR * kcb, NR, kcb, beta, p.C + q * NR * p.csc, min64(NR, N - q * NR));
        return;
      }
      const T* bsrc = p.B + pc * p.rsb + q0 * NR * p.csb;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t nr = min64(NR, N - q * NR);
        const T* bq = bsrc + (q - q0) * NR;
        if (nr == NR) {
          sweep(ablk, M, bq, p.rsb, kcb, beta, p.C + q * NR * p.csc, nr);
        } else {  // reading in place would run past B's last column
          Kern::pack_b(nr, kcb, bq, p.rsb, p.csb, pbuf);
          sweep(ablk, M, pbuf, NR, kcb, beta, p.C + q * NR * p.csc, nr);
        }
      }
    };
    // All of A for every K block at once when it is small (the usual short A: a batch of 64 rows):
    // then each run of B panels takes the K blocks in turn and the call has a single barrier.
    // Otherwise K block by K block, with a barrier after each. A C tile sees its K blocks in
    // order either way (the same bits).
    const bool a_whole = p.A_packed != nullptr || Mpad * K * static_cast<int64_t>(sizeof(T)) <= kWholeABytes;
    team.run([&](int) {
      T* pbuf = static_cast<T*>(scratch(kScratchB, sizeof(T) * run * NR * kc_max));
      if (a_whole) {
        const T* a_all = p.A_packed;
        if (a_all == nullptr) {
          T* abuf = static_cast<T*>(scratch(kScratchA, sizeof(T) * Mpad * K));
          pack_a_all<Kern>(M, K, p.A, p.rsa, p.csa, abuf);
          a_all = abuf;
        }
        team.for_dynamic(runs, [&](int64_t r) {
          for (int64_t pc = 0; pc < K; pc += kc_max)
            run_block(r, pc, min64(kc_max, K - pc), pc == 0 ? p.beta : T(1), a_all + Mpad * pc, pbuf);
        });
        return;
      }
      T* abuf = static_cast<T*>(scratch(kScratchA, sizeof(T) * mc * kc_max));
      for (int64_t pc = 0; pc < K; pc += kc_max) {
        const int64_t kcb = min64(kc_max, K - pc);
        const T beta = pc == 0 ? p.beta : T(1);  // later K blocks accumulate onto the first
        const T* ablk = a_block(0, M, pc, kcb, abuf);
        // for_dynamic ends with a barrier: K blocks of one C tile stay in order.
        team.for_dynamic(runs, [&](int64_t r) { run_block(r, pc, kcb, beta, ablk, pbuf); });
      }
    });
    return;
  }

  // Tall A: shared packed B block (KC x NC, in L3), row blocks shared out dynamically.
  const int64_t nc_max = min64(ceil_div(N, NR) * NR, Kern::NC);
  const int64_t n_ic = ceil_div(M, mc);
  // The packed B block is shared by the team, so it is the calling thread's buffer.
  T* bbuf = static_cast<T*>(scratch(kScratchB, sizeof(T) * kc_max * nc_max));
  team.run([&](int) {
    T* abuf = p.A_packed ? nullptr : static_cast<T*>(scratch(kScratchA, sizeof(T) * mc * kc_max));
    for (int64_t jc = 0; jc < N; jc += nc_max) {
      const int64_t ncb = min64(nc_max, N - jc);
      const int64_t Q = ceil_div(ncb, NR);
      for (int64_t pc = 0; pc < K; pc += kc_max) {
        const int64_t kcb = min64(kc_max, K - pc);
        const T beta = pc == 0 ? p.beta : T(1);
        // The team packs the B block's panels in runs handed out one at a time (a thread that
        // loses its core packs fewer); the barrier at the end of for_dynamic publishes them.
        const int64_t prun = nt > 1 ? ceil_div(Q, 4 * nt) : Q;
        team.for_dynamic(ceil_div(Q, prun), [&](int64_t r) {
          const int64_t q0 = r * prun, q1 = min64(Q, q0 + prun);
          pack_b_range<Kern>(p, jc + q0 * NR, min64(ncb, q1 * NR) - q0 * NR, pc, kcb, bbuf + q0 * NR * kcb);
        });
        // for_dynamic ends with a barrier: nobody repacks B while others still read it.
        team.for_dynamic(n_ic, [&](int64_t blk) {
          const int64_t ic = blk * mc, mcb = min64(mc, M - ic);
          const T* ablk = a_block(ic, mcb, pc, kcb, abuf);
          for (int64_t q = 0; q < Q; ++q)
            sweep(ablk, mcb, bbuf + q * NR * kcb, NR, kcb, beta, p.C + ic * p.rsc + (jc + q * NR) * p.csc,
                  min64(NR, ncb - q * NR));
        });
      }
    }
  });
}

}  // namespace
}  // namespace ember::kernels::gemm_impl
