// Fused multi-step LIF + event-driven propagation + trace STDP kernel (C ABI, called through ctypes).
//
// One call advances the network n_steps. All per-step work (neuron update, spike collection, propagation,
// plasticity) happens inside one OpenMP parallel region, so there is no per-step Python overhead.
// Semantics match snn_substrate/_torch_backend.py (the reference and CUDA path); see engine.py for the science.
//
// Determinism: for a fixed thread count, results are bit-identical run to run (static partitions, per-thread
// private input buffers summed in thread order).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include <omp.h>
#include <time.h>

// thread CPU time in seconds (the phase profile: wall clock would count time the thread was descheduled)
static inline double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// Noise flags of neurons [lo, hi) at one step: 1 where the counter-based hash falls below the threshold.
// A branch-free loop the compiler vectorises; AVX2 clone picked at run time where the CPU has it (no
// -march=native, so a shared cache dir stays safe on older CPUs).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void noise_flags(const uint32_t* nh, uint8_t* out, int64_t lo, int64_t hi, uint32_t hs,
                        uint32_t thresh) {
  for (int64_t i = lo; i < hi; ++i) {
    uint32_t h = hs ^ nh[i];
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    out[i] = (uint8_t)(h < thresh);
  }
}

// Parameter vector layout (doubles); keep in sync with engine.py::_pack_params.
enum {
  P_EM, P_EE, P_EI, P_AE, P_AI, P_AD, P_EL, P_VR, P_VT, P_REF, P_ETH, P_DTH, P_PNOISE, P_WNOISE, P_SEED,
  P_MODE, P_APLUS, P_AMINUS, P_EPRE, P_EPOST, P_WMAX, P_ELIG_T0, P_ELIG_INV_TAU, P_DT, P_NPARAMS
};

extern "C" int snn_abi_version() { return 4; }

// Reward (third factor): w += scale * elig on the plastic part of every row, clipped to [0, wmax].
extern "C" void snn_reward(int64_t N, const int64_t* row_ptr, const int32_t* n_plastic, float* w,
                           const float* elig, double scale, double wmax, int nthreads) {
  const float sc = (float)scale, wm = (float)wmax;
  if (nthreads < 1) nthreads = 1;
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const int64_t a = row_ptr[i], b = a + n_plastic[i];
    for (int64_t s = a; s < b; ++s) {
      float nw = w[s] + sc * elig[s];
      w[s] = nw < 0.f ? 0.f : (nw > wm ? wm : nw);
    }
  }
}

extern "C" int64_t snn_run(int64_t N, float* v, float* ge, float* gi, float* theta, int32_t* refrac,
                           float* xpre, float* xpost, const float* drive, const uint8_t* is_exc,
                           const int64_t* row_ptr, const int32_t* col, float* w, const int32_t* n_plastic,
                           const int64_t* rev_ptr, const int32_t* rev_syn, const int32_t* rev_pre,
                           float* elig, const double* P, int64_t step0, int64_t n_steps, int32_t* counts,
                           int32_t* rec, int64_t rec_cap, int64_t* out, int nthreads, float* scratch) {
  const float em = (float)P[P_EM], eE = (float)P[P_EE], eI = (float)P[P_EI];
  const float Ae = (float)P[P_AE], Ai = (float)P[P_AI], Ad = (float)P[P_AD];
  const float El = (float)P[P_EL], Vr = (float)P[P_VR], Vt = (float)P[P_VT];
  const int32_t ref = (int32_t)P[P_REF];
  const float eth = (float)P[P_ETH], dth = (float)P[P_DTH];
  const double pnoise = P[P_PNOISE];
  const float wnoise = (float)P[P_WNOISE];
  const uint32_t seed = (uint32_t)(int64_t)P[P_SEED];
  const int mode_all = (int)P[P_MODE];
  const int mode = mode_all & 3;  // bit0: direct STDP on w, bit1: STDP into eligibility
  // bit 4: phase profile of thread 0 into out[3..8] (thread CPU ns): noise, neuron sweep, spike merge, propagation
  // (+ depression), potentiation, final barrier (waiting for the other threads)
  const bool prof = (mode_all & 16) != 0;
  double ph[6] = {0, 0, 0, 0, 0, 0};
  const float Aplus = (float)P[P_APLUS], Aminus = (float)P[P_AMINUS];
  const float epre = (float)P[P_EPRE], epost = (float)P[P_EPOST], wmax = (float)P[P_WMAX];
  const double elig_t0 = P[P_ELIG_T0], elig_inv_tau = P[P_ELIG_INV_TAU], dt = P[P_DT];
  const uint32_t thresh = pnoise >= 1.0 ? 0xFFFFFFFFu : (uint32_t)(pnoise * 4294967296.0);
  const bool noise = pnoise > 0.0;
  const bool plastic = mode != 0;
  const bool direct = (mode & 1) != 0, use_elig = (mode & 2) != 0 && elig != nullptr;

  if (nthreads < 1) nthreads = 1;
  std::vector<std::vector<int32_t>> local(nthreads);
  std::vector<int32_t> spk((size_t)N);
  int64_t nspk = 0;
  int64_t rec_n = out[0];
  std::vector<int64_t> ev(nthreads, 0);
  int64_t total_spikes = 0;
  // the neuron part of the noise hash does not depend on the step: once per call
  std::vector<uint32_t> nh(noise ? (size_t)N : 0);
  std::vector<uint8_t> nflag(noise ? (size_t)N : 0);

#pragma omp parallel num_threads(nthreads)
  {
    const int tid = omp_get_thread_num();
    const int T = omp_get_num_threads();
    const int64_t lo = N * tid / T, hi = N * (tid + 1) / T;
    float* be = scratch + (size_t)(2 * tid) * N;
    float* bi = scratch + (size_t)(2 * tid + 1) * N;
    std::vector<int32_t>& mine = local[tid];
    mine.reserve(1024);
    int64_t my_ev = 0;
    // one thread: input goes straight into ge/gi (added after this step's update, read undecayed by the
    // next one: the same as the private buffers, without the extra pass over them)
    const bool own_in = (T == 1);
    if (own_in) {
      be = ge;
      bi = gi;
    }
    if (noise)
      for (int64_t i = lo; i < hi; ++i) nh[i] = fmix32((uint32_t)i * 0x27d4eb2fu + 0x165667b1u);
#pragma omp barrier
    for (int64_t k = 0; k < n_steps; ++k) {
      const int64_t step = step0 + k;
      const uint32_t hs = fmix32((uint32_t)step * 0x9E3779B1u ^ seed) ^ (uint32_t)(step >> 32);
      mine.clear();
      const bool tp = prof && tid == 0;
      double tq = tp ? thread_cpu_s() : 0.0;
#define SNN_LAP(k)                       \
  if (tp) {                              \
    const double tn = thread_cpu_s();     \
    ph[k] += tn - tq;                    \
    tq = tn;                             \
  }
      if (noise) noise_flags(nh.data(), nflag.data(), lo, hi, hs, thresh);
      SNN_LAP(0)
      // (a) neuron update on my slice: collect input, integrate exactly, threshold, reset.
      for (int64_t i = lo; i < hi; ++i) {
        float e = ge[i], in = gi[i];
        for (int t = 0; t < T && !own_in; ++t) {
          float* te = scratch + (size_t)(2 * t) * N;
          float* ti = scratch + (size_t)(2 * t + 1) * N;
          e += te[i];
          in += ti[i];
          te[i] = 0.f;
          ti[i] = 0.f;
        }
        float vi = v[i];
        int32_t r = refrac[i];
        const float d = drive ? drive[i] : 0.f;
        if (r > 1) {
          r -= 1;
        } else {
          r = 0;
          vi = El + (vi - El) * em + e * Ae + in * Ai + d * Ad;
        }
        e *= eE;
        in *= eI;
        if (noise) e += wnoise * (float)nflag[i];  // branch-free: the flags are random
        float th = theta[i] * eth;
        if (plastic) {
          xpre[i] *= epre;
          xpost[i] *= epost;
        }
        if (r == 0 && vi > Vt + th) {
          vi = Vr;
          r = ref;
          th += dth;
          counts[i] += 1;
          mine.push_back((int32_t)i);
          if (plastic) {
            xpre[i] += 1.f;
            xpost[i] += 1.f;
          }
        }
        v[i] = vi;
        ge[i] = e;
        gi[i] = in;
        theta[i] = th;
        refrac[i] = r;
      }
      SNN_LAP(1)
#pragma omp barrier
#pragma omp single
      {
        nspk = 0;
        for (int t = 0; t < T; ++t) {
          std::memcpy(spk.data() + nspk, local[t].data(), local[t].size() * sizeof(int32_t));
          nspk += (int64_t)local[t].size();
        }
        total_spikes += nspk;
        if (rec != nullptr) {
          for (int64_t q = 0; q < nspk && rec_n < rec_cap; ++q, ++rec_n) {
            rec[2 * rec_n] = (int32_t)step;
            rec[2 * rec_n + 1] = spk[q];
          }
        }
      }  // implicit barrier
      SNN_LAP(2)
      // (b) propagation (+ depression on pre spikes): my share of the spike list, private buffers.
      const int64_t s0 = nspk * tid / T, s1 = nspk * (tid + 1) / T;
      const float g = use_elig ? (float)std::exp(((double)step * dt - elig_t0) * elig_inv_tau) : 0.f;
      for (int64_t q = s0; q < s1; ++q) {
        const int32_t i = spk[q];
        const int64_t a = row_ptr[i], b = row_ptr[i + 1];
        float* buf = is_exc[i] ? be : bi;
        // plastic synapses first in the row: propagate the old weight, then depress (fused, one pass)
        const int64_t pe = plastic ? a + n_plastic[i] : a;
        for (int64_t s = a; s < pe; ++s) {
          const int32_t c = col[s];
          const float ws = w[s];
          buf[c] += ws;
          const float dw = -Aminus * xpost[c];
          if (direct) {
            const float nw = ws + dw;
            w[s] = nw < 0.f ? 0.f : nw;
          }
          if (use_elig) elig[s] += dw * g;
        }
        for (int64_t s = pe; s < b; ++s) buf[col[s]] += w[s];
        my_ev += b - a;
      }
      SNN_LAP(3)
      if (plastic) {
#pragma omp barrier
        // (c) potentiation on post spikes: each post neuron owns its incoming plastic synapses.
        for (int64_t q = s0; q < s1; ++q) {
          const int32_t j = spk[q];
          for (int64_t r = rev_ptr[j]; r < rev_ptr[j + 1]; ++r) {
            const int32_t s = rev_syn[r];
            const float dw = Aplus * xpre[rev_pre[r]];
            if (direct) {
              float nw = w[s] + dw;
              w[s] = nw > wmax ? wmax : nw;
            }
            if (use_elig) elig[s] += dw * g;
          }
        }
      }
      SNN_LAP(4)
#pragma omp barrier
      SNN_LAP(5)
    }
    ev[tid] = my_ev;
  }
  // Input still in the private buffers arrived after this call's last update: fold it in, undecayed.
  for (int t = 0; t < nthreads; ++t) {
    float* te = scratch + (size_t)(2 * t) * N;
    float* ti = scratch + (size_t)(2 * t + 1) * N;
    for (int64_t i = 0; i < N; ++i) {
      ge[i] += te[i];
      gi[i] += ti[i];
      te[i] = 0.f;
      ti[i] = 0.f;
    }
  }
  int64_t events = 0;
  for (int t = 0; t < nthreads; ++t) events += ev[t];
  if (prof)
    for (int q = 0; q < 6; ++q) out[3 + q] = (int64_t)(ph[q] * 1e9);
  out[0] = rec_n;
  out[1] += events;
  out[2] += total_spikes;
  return nspk;
}
