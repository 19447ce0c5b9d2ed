// Fused multi-step LIF + event-driven propagation + trace STDP kernel (C ABI, called through ctypes).
//
// One call advances the network n_steps. All per-step work (neuron update, spike collection, propagation,
// plasticity) happens inside one OpenMP parallel region, so there is no per-step Python overhead.
// Semantics match the torch backend (Engine._run_torch in engine.py: the reference and CUDA path).
//
// Determinism: results are bit-identical run to run and for any thread count: each thread lists its synaptic
// events by the thread owning the target, and the owner adds them in spike order, as one thread would.
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

// Multi-versioned hot loops: the compiler vectorises them for AVX-512 / AVX2 and the best clone is picked at run
// time (no -march=native, so a shared cache dir stays safe on older CPUs). -ffp-contract=off keeps every clone's
// arithmetic identical (no FMA contraction), so results do not depend on which clone runs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SNN_CLONES
#endif

// Loop-invariant constants of one step's neuron update.
struct SweepC {
  float em, eE, eI, Ae, Ai, Ad, El, Vt, wnoise, eth, epre, epost;
  uint32_t hs, thresh;
};

// Neuron update of [lo, hi) without the spike branch, so it vectorises: exact integration (frozen while
// refractory), current and threshold decay, trace decay, background noise from a counter-based hash of
// (step, neuron). flag[i - lo] = 1 where the neuron crosses threshold; the reset is done sparsely afterwards.
// TRACES: 0 none, 1 one trace array (x_pre is x_post: equal time constants), 2 both.
template <bool NOISE, int TRACES, bool DRIVE>
static inline __attribute__((always_inline)) void sweep_t(int64_t lo, int64_t hi, float* __restrict v,
                                                         float* __restrict ge, float* __restrict gi,
                                                         float* __restrict theta, int32_t* __restrict refrac,
                                                         float* __restrict xpre, float* __restrict xpost,
                                                         const float* __restrict drive,
                                                         const uint32_t* __restrict nh, int32_t* __restrict flag,
                                                         const SweepC& c) {
  const float em = c.em, eE = c.eE, eI = c.eI, Ae = c.Ae, Ai = c.Ai, Ad = c.Ad, El = c.El, Vt = c.Vt;
  const float wnoise = c.wnoise, eth = c.eth, epre = c.epre, epost = c.epost;
  const uint32_t hs = c.hs, thresh = c.thresh;
  for (int64_t i = lo; i < hi; ++i) {
    float e = ge[i], in = gi[i], vi = v[i];
    const int32_t r0 = refrac[i];
    const float d = DRIVE ? drive[i] : 0.f;
    const float vint = El + (vi - El) * em + e * Ae + in * Ai + d * Ad;
    const bool frozen = r0 > 1;
    vi = frozen ? vi : vint;
    const int32_t r = (r0 - 1) & -(int32_t)frozen;  // r0 - 1 while refractory, else 0
    e *= eE;
    if (NOISE) {
      uint32_t h = hs ^ nh[i];
      h ^= h >> 16;
      h *= 0x85ebca6bu;
      h ^= h >> 13;
      h *= 0xc2b2ae35u;
      h ^= h >> 16;
      e += h < thresh ? wnoise : 0.f;
    }
    in *= eI;
    const float th = theta[i] * eth;
    if (TRACES >= 1) xpre[i] *= epre;
    if (TRACES == 2) xpost[i] *= epost;
    flag[i - lo] = (int32_t)(vi > Vt + th) & (int32_t)(!frozen);  // r == 0 exactly when not frozen
    v[i] = vi;
    ge[i] = e;
    gi[i] = in;
    theta[i] = th;
    refrac[i] = r;
  }
}

SNN_CLONES
static void sweep(bool noise, int traces, int64_t lo, int64_t hi, float* v, float* ge, float* gi, float* theta,
                  int32_t* refrac, float* xpre, float* xpost, const float* drive, const uint32_t* nh, int32_t* flag,
                  const SweepC& c) {
#define SNN_SWEEP(N, X, D) sweep_t<N, X, D>(lo, hi, v, ge, gi, theta, refrac, xpre, xpost, drive, nh, flag, c)
#define SNN_SWEEP_D(N, X) \
  if (drive != nullptr) SNN_SWEEP(N, X, true); else SNN_SWEEP(N, X, false)
#define SNN_SWEEP_X(N)                  \
  if (traces == 0) {                    \
    SNN_SWEEP_D(N, 0);                  \
  } else if (traces == 1) {             \
    SNN_SWEEP_D(N, 1);                  \
  } else {                              \
    SNN_SWEEP_D(N, 2);                  \
  }
  if (noise) {
    SNN_SWEEP_X(true)
  } else {
    SNN_SWEEP_X(false)
  }
#undef SNN_SWEEP_X
#undef SNN_SWEEP_D
#undef SNN_SWEEP
}

// Parameter vector layout (doubles); keep in sync with engine.py::_pack_params.
enum {
  P_EM, P_EE, P_EI, P_AE, P_AI, P_AD, P_EL, P_VR, P_VT, P_REF, P_ETH, P_DTH, P_PNOISE, P_WNOISE, P_SEED,
  P_MODE, P_APLUS, P_AMINUS, P_EPRE, P_EPOST, P_WMAX, P_ELIG_T0, P_ELIG_INV_TAU, P_DT, P_NPARAMS
};

extern "C" int snn_abi_version() { return 5; }

struct Ev {  // one synaptic event, listed for the thread that owns its target neuron
  int32_t c;
  float w;
};

// Adds the events every thread listed for owner `dst` (in thread order) into ge / gi and empties the lists.
static void apply_events(const std::vector<std::vector<Ev>>& bk, std::vector<int64_t>& bn, int T, int dst,
                         float* ge, float* gi) {
  for (int src = 0; src < T; ++src)
    for (int x = 0; x < 2; ++x) {
      const size_t k = ((size_t)src * T + dst) * 2 + x;
      const Ev* e = bk[k].data();
      float* g = x == 0 ? ge : gi;
      for (int64_t q = 0, n = bn[k]; q < n; ++q) g[e[q].c] += e[q].w;
      bn[k] = 0;
    }
}

// Cuts spk[0, n) into T contiguous shares of about equal total cost(spike): cut[0] = 0 ... cut[T] = n.
template <class Cost>
static void balance(std::vector<int64_t>& work, const int32_t* spk, int64_t n, int T, int64_t* cut, Cost cost) {
  if ((int64_t)work.size() < n + 1) work.resize((size_t)(n + 1) * 2);
  work[0] = 0;
  for (int64_t q = 0; q < n; ++q) work[q + 1] = work[q] + cost(spk[q]);
  const int64_t total = work[n];
  cut[0] = 0;
  int64_t q = 0;
  for (int t = 1; t < T; ++t) {
    const int64_t want = total * t / T;
    while (q < n && work[q] < want) ++q;
    cut[t] = q;
  }
  cut[T] = n;
}

struct PotEvent {
  int32_t s;
  float dw;
};
static constexpr int64_t kPf = 32;     // potentiation: prefetch distance in events
static constexpr int64_t kRowPf = 4;   // propagation / potentiation: rows prefetched this many spikes ahead

// Prefetch [p, p + bytes) into cache, one request per line (rows of random neurons miss every cache level).
static inline void prefetch_range(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 3);
}
static constexpr int64_t kBlock = 2048;  // neurons per sweep block: state + input buffers stay in L1/L2

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
                           int32_t* rec, int64_t rec_cap, int64_t* out, int nthreads) {
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
  // bit 4: phase profile of thread 0 into out[3..7] (thread CPU ns): neuron sweep (with noise), spike merge,
  // propagation (+ depression, listing the potentiation), potentiation (barrier, then applying it), final barrier
  // (without plasticity only). Barrier waits count in the phase that ends with them.
  const bool prof = (mode_all & 16) != 0;
  double ph[5] = {0, 0, 0, 0, 0};
  const float Aplus = (float)P[P_APLUS], Aminus = (float)P[P_AMINUS];
  const float epre = (float)P[P_EPRE], epost = (float)P[P_EPOST], wmax = (float)P[P_WMAX];
  const double elig_t0 = P[P_ELIG_T0], elig_inv_tau = P[P_ELIG_INV_TAU], dt = P[P_DT];
  const uint32_t thresh = pnoise >= 1.0 ? 0xFFFFFFFFu : (uint32_t)(pnoise * 4294967296.0);
  const bool noise = pnoise > 0.0;
  const bool plastic = mode != 0;
  const bool direct = (mode & 1) != 0, use_elig = (mode & 2) != 0 && elig != nullptr;
  // xpost == xpre: the caller keeps one trace for both (equal time constants, equal values)
  const int traces = !plastic ? 0 : (xpost == xpre ? 1 : 2);

  if (nthreads < 1) nthreads = 1;
  std::vector<std::vector<int32_t>> local(nthreads);
  std::vector<int32_t> spk((size_t)N);
  int64_t nspk = 0;
  int64_t rec_n = out[0];
  std::vector<int64_t> ev(nthreads, 0);
  int64_t total_spikes = 0;
  // event lists bk[(src * T + dst) * 2 + inh] with fill counts bn; slice bounds of the threads
  std::vector<std::vector<Ev>> bk((size_t)nthreads * nthreads * 2);
  std::vector<int64_t> bn((size_t)nthreads * nthreads * 2, 0), cnt_all((size_t)nthreads * nthreads * 2, 0);
  int team = 1;  // threads OpenMP actually gave us
  // several threads: the spike list is split by work, not by count (rows differ in length between layers, and
  // a plastic part costs more): cut[t] / cutp[t] start thread t's share of propagation / potentiation
  std::vector<int64_t> cut((size_t)nthreads + 1, 0), cutp((size_t)nthreads + 1, 0), work;
  // the neuron part of the noise hash does not depend on the step: once per call
  std::vector<uint32_t> nh(noise ? (size_t)N : 0);

#pragma omp parallel num_threads(nthreads)
  {
    const int tid = omp_get_thread_num();
    const int T = omp_get_num_threads();
    const int64_t lo = N * tid / T, hi = N * (tid + 1) / T;
    // one thread: input goes straight into ge/gi (added after this step's update, read undecayed by the next
    // one). Several: each thread lists its synaptic events by the thread owning the target (bk), and each
    // owner adds them into its own slice at the start of the next step, in thread order (deterministic).
    const bool own_in = (T == 1);
    std::vector<int64_t> bound((size_t)T + 1);  // thread t owns neurons [bound[t], bound[t + 1])
    for (int t = 0; t <= T; ++t) bound[t] = N * t / T;
    if (tid == 0) team = T;
    std::vector<int32_t>& mine = local[tid];
    mine.reserve(1024);
    std::vector<int32_t> flag(kBlock);
    std::vector<PotEvent> pot;
    std::vector<Ev*> out_ptr(2 * (size_t)T);  // [exc/inh][owner]: where my events go this step
    int64_t* my_cnt = cnt_all.data() + (size_t)tid * 2 * T;
    int64_t my_ev = 0;
    if (noise)
      for (int64_t i = lo; i < hi; ++i) nh[i] = fmix32((uint32_t)i * 0x27d4eb2fu + 0x165667b1u);
#pragma omp barrier
    for (int64_t k = 0; k < n_steps; ++k) {
      const int64_t step = step0 + k;
      const uint32_t hs = fmix32((uint32_t)step * 0x9E3779B1u ^ seed) ^ (uint32_t)(step >> 32);
      const SweepC sc{em, eE, eI, Ae, Ai, Ad, El, Vt, wnoise, eth, epre, epost, hs, thresh};
      mine.clear();
      const bool tp = prof && tid == 0;
      double tq = tp ? thread_cpu_s() : 0.0;
#define SNN_LAP(k)                       \
  if (tp) {                              \
    const double tn = thread_cpu_s();     \
    ph[k] += tn - tq;                    \
    tq = tn;                             \
  }
      // (a) neuron update on my slice: add the input other threads listed for me, then in cache-sized blocks a
      // vectorised update, after which the few spiking neurons are reset and listed.
      if (!own_in) apply_events(bk, bn, T, tid, ge, gi);
      for (int64_t b0 = lo; b0 < hi; b0 += kBlock) {
        const int64_t b1 = b0 + kBlock < hi ? b0 + kBlock : hi;
        sweep(noise, traces, b0, b1, v, ge, gi, theta, refrac, xpre, xpost, drive, nh.data(), flag.data(), sc);
        int64_t i = b0;
        auto fire = [&](int64_t n) {
          v[n] = Vr;
          refrac[n] = ref;
          theta[n] += dth;
          mine.push_back((int32_t)n);
          if (plastic) {
            xpre[n] += 1.f;
            if (traces == 2) xpost[n] += 1.f;
          }
        };
        for (; i + 16 <= b1; i += 16) {  // spikes are rare: skip 16 flags at a time
          const int32_t* f = flag.data() + (i - b0);
          int32_t any = 0;
          for (int q = 0; q < 16; ++q) any |= f[q];
          if (any == 0) continue;
          for (int q = 0; q < 16; ++q)
            if (f[q]) fire(i + q);
        }
        for (; i < b1; ++i)
          if (flag[i - b0]) fire(i);
      }
      SNN_LAP(0)
#pragma omp barrier
#pragma omp single
      {
        nspk = 0;
        for (int t = 0; t < T; ++t) {
          std::memcpy(spk.data() + nspk, local[t].data(), local[t].size() * sizeof(int32_t));
          nspk += (int64_t)local[t].size();
        }
        total_spikes += nspk;
        if (T > 1) {
          balance(work, spk.data(), nspk, T, cut.data(), [&](int32_t i) {
            return row_ptr[i + 1] - row_ptr[i] + (plastic ? (int64_t)n_plastic[i] : 0);
          });
          if (plastic)
            balance(work, spk.data(), nspk, T, cutp.data(), [&](int32_t i) { return rev_ptr[i + 1] - rev_ptr[i]; });
        } else {
          cut[1] = cutp[1] = nspk;
        }
        if (rec != nullptr) {
          for (int64_t q = 0; q < nspk && rec_n < rec_cap; ++q, ++rec_n) {
            rec[2 * rec_n] = (int32_t)step;
            rec[2 * rec_n + 1] = spk[q];
          }
        }
      }  // implicit barrier
      SNN_LAP(1)
      // (b) propagation (+ depression on pre spikes): my share of the spike list; several threads list the events.
      int64_t s0 = cut[tid], s1 = cut[tid + 1];
      const float g = use_elig ? (float)std::exp(((double)step * dt - elig_t0) * elig_inv_tau) : 0.f;
      if (!own_in) {
        int64_t need = 0;
        for (int64_t q = s0; q < s1; ++q) need += row_ptr[spk[q] + 1] - row_ptr[spk[q]];
        for (int x = 0; x < 2; ++x)
          for (int d = 0; d < T; ++d) {
            std::vector<Ev>& list = bk[((size_t)tid * T + d) * 2 + x];
            if ((int64_t)list.size() < need) list.resize((size_t)need * 2);
            out_ptr[(size_t)x * T + d] = list.data();
            my_cnt[(size_t)x * T + d] = 0;
          }
      }
      for (int64_t q = s0; q < s1; ++q) {
        if (q + kRowPf < s1) {
          const int32_t in = spk[q + kRowPf];
          const int64_t ra = row_ptr[in], rn = (row_ptr[in + 1] - ra) * 4;
          prefetch_range(col + ra, rn);
          prefetch_range(w + ra, rn);
          __builtin_prefetch(counts + in, 1, 3);
        }
        const int32_t i = spk[q];
        counts[i] += 1;  // here rather than at the spike: prefetched with the row (a cold line otherwise)
        const int64_t a = row_ptr[i], b = row_ptr[i + 1];
        const int x = is_exc[i] ? 0 : 1;
        float* buf = x == 0 ? ge : gi;  // one thread: straight into the state
        Ev* const* dst = out_ptr.data() + (size_t)x * T;
        int64_t* cnt = my_cnt + (size_t)x * T;
        auto emit = [&](int32_t c, float ws) {
          if (own_in) {
            buf[c] += ws;
          } else {
            int d = 0;
            for (int t = 1; t < T; ++t) d += c >= bound[t];
            dst[d][cnt[d]++] = {c, ws};
          }
        };
        // plastic synapses first in the row: propagate the old weight, then depress (fused, one pass)
        const int64_t pe = plastic ? a + n_plastic[i] : a;
        for (int64_t s = a; s < pe; ++s) {
          const int32_t c = col[s];
          const float ws = w[s];
          emit(c, ws);
          const float dw = -Aminus * xpost[c];
          if (direct) {
            const float nw = ws + dw;
            w[s] = nw < 0.f ? 0.f : nw;
          }
          if (use_elig) elig[s] += dw * g;
        }
        for (int64_t s = pe; s < b; ++s) emit(col[s], w[s]);
        my_ev += b - a;
      }
      if (!own_in)
        for (int x = 0; x < 2; ++x)
          for (int d = 0; d < T; ++d) bn[((size_t)tid * T + d) * 2 + x] = my_cnt[(size_t)x * T + d];
      // (c) potentiation on post spikes (my share of them): each post neuron's incoming plastic synapses are
      // random entries all over w (a TLB and cache miss each), so the updates are listed here, before the
      // barrier (the list reads xpre, which the next step's sweep changes), and applied after it (depression
      // above may touch the same synapses) with software prefetch kPf entries ahead, many misses in flight.
      // Applying them needs no closing barrier: the next step's sweep does not touch w, and the barrier after
      // that sweep orders them before the next propagation.
      if (plastic) {
        s0 = cutp[tid];
        s1 = cutp[tid + 1];
        int64_t np = 0;
        for (int64_t q = s0; q < s1; ++q) np += rev_ptr[spk[q] + 1] - rev_ptr[spk[q]];
        if ((int64_t)pot.size() < np) pot.resize((size_t)np * 2);
        PotEvent* pe = pot.data();
        for (int64_t q = s0; q < s1; ++q) {
          if (q + kRowPf < s1) {
            const int32_t jn = spk[q + kRowPf];
            const int64_t ra = rev_ptr[jn], rn = (rev_ptr[jn + 1] - ra) * 4;
            prefetch_range(rev_syn + ra, rn);
            prefetch_range(rev_pre + ra, rn);
          }
          const int32_t j = spk[q];
          for (int64_t r = rev_ptr[j]; r < rev_ptr[j + 1]; ++r) *pe++ = {rev_syn[r], Aplus * xpre[rev_pre[r]]};
        }
        SNN_LAP(2)
#pragma omp barrier
        for (int64_t u = 0; u < np; ++u) {
          if (u + kPf < np) {
            __builtin_prefetch(w + pot[u + kPf].s, 1, 3);
            if (use_elig) __builtin_prefetch(elig + pot[u + kPf].s, 1, 3);
          }
          const int32_t s = pot[u].s;
          const float dw = pot[u].dw;
          if (direct) {
            float nw = w[s] + dw;
            w[s] = nw > wmax ? wmax : nw;
          }
          if (use_elig) elig[s] += dw * g;
        }
      } else {
        SNN_LAP(2)
      }
      SNN_LAP(3)
      if (!plastic) {  // the next step's input lists are complete
#pragma omp barrier
      }
      SNN_LAP(4)
    }
    ev[tid] = my_ev;
  }
  // Input still listed arrived after this call's last update: add it in, undecayed.
  for (int t = 0; t < team && team > 1; ++t) apply_events(bk, bn, team, t, ge, gi);
  int64_t events = 0;
  for (int t = 0; t < nthreads; ++t) events += ev[t];
  if (prof)
    for (int q = 0; q < 5; ++q) out[3 + q] = (int64_t)(ph[q] * 1e9);
  out[0] = rec_n;
  out[1] += events;
  out[2] += total_spikes;
  return nspk;
}
