// The threads that parallel steps run on: the caller's thread plus N - 1 helpers that live as
// long as the pool and sleep between steps. A step is a number of parts claimed one at a time,
// by the caller and by whichever helper is awake, so the caller never waits for a helper that has
// not started (descheduled on a busy machine, say): it takes the parts itself and waits only for
// parts a helper has already begun. One step runs at a time; a caller that finds the pool busy
// (another thread's step, or a step inside a step) runs its parts alone, on its own thread.
// ALBERTNER_NO_THREADS: no thread is ever started (systems without pthreads); every step runs
// on the caller.
#pragma once

#include "../status.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#ifndef ALBERTNER_NO_THREADS
#include <condition_variable>
#include <mutex>

#include <pthread.h>
#endif

namespace albertner {
namespace detail {

/// The most threads a pool (a Tagger, a Workspace) may run on.
constexpr std::size_t kMaxThreads = 256;

/// Multiply-adds under which a step of the forward pass runs on the calling thread alone: below
/// it, waking a helper and sharing cache lines cost more than the helper saves
/// (bench/threads.cpp measures it; docs/benchmarks.md). Overridable for that measurement.
#ifndef ALBERTNER_PARALLEL_MIN_WORK
#define ALBERTNER_PARALLEL_MIN_WORK (1 << 21)
#endif
constexpr std::int64_t kParallelMinWork = ALBERTNER_PARALLEL_MIN_WORK;

/// Mutual exclusion that compiles to nothing under ALBERTNER_NO_THREADS.
class Mutex {
public:
#ifndef ALBERTNER_NO_THREADS
  void lock() { m_.lock(); }
  void unlock() { m_.unlock(); }

private:
  std::mutex m_;
#else
  void lock() {}
  void unlock() {}
#endif
};

class WorkerPool {
public:
  /// Part `part` of `parts` of one parallel step, run by the thread with scratch slot `slot`
  /// (0: the caller; 1 .. threads() - 1: the helpers). Parts of one step may run in any order
  /// and on any slot; a slot runs one part at a time.
  using Task = void (*)(void* context, std::size_t part, std::size_t parts, std::size_t slot);
  /// The most parts one step may have.
  static constexpr std::size_t kMaxParts = 0xffff;

  WorkerPool() = default;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool() { stop(); }

  /// Runs with `threads` threads in all (the caller's included). Errors: errc::invalid_input for 0
  /// or more than kMaxThreads; errc::io when the system refuses a thread (the threads already
  /// started are stopped again); errc::unsupported for more than 1 under ALBERTNER_NO_THREADS.
  Status start(std::size_t threads) {
    stop();
    if (threads == 0) return Error(errc::invalid_input, "threads must be at least 1");
    if (threads > kMaxThreads)
      return Error(errc::invalid_input,
                   "threads " + std::to_string(threads) + " is more than " + std::to_string(kMaxThreads));
#ifdef ALBERTNER_NO_THREADS
    if (threads > 1)
      return Error(errc::unsupported, "threads " + std::to_string(threads) + ": built with ALBERTNER_NO_THREADS");
#else
    shared_ = std::make_shared<Shared>();
    for (std::size_t k = 1; k < threads; ++k) {
      auto* arg = new (std::nothrow) Helper{shared_, k};
      pthread_t handle;
      const int rc = arg ? pthread_create(&handle, nullptr, &WorkerPool::main, arg) : -1;
      if (rc != 0) {
        delete arg;
        stop();
        return Error(errc::io, "cannot start thread " + std::to_string(k + 1) + " of " + std::to_string(threads) +
                                   " (pthread_create returned " + std::to_string(rc) + ")");
      }
      handles_.push_back(handle);
    }
    threads_ = threads;
#endif
    return ok_status();
  }

  std::size_t threads() const noexcept { return threads_; }

  /// Calls task(context, p, parts, slot) for every p in [0, parts) and returns when all are done.
  /// The helpers join in only when the pool is free; otherwise the caller runs every part in
  /// slot 0. `parts` is clamped to kMaxParts.
  void run(Task task, void* context, std::size_t parts) {
    if (parts > kMaxParts) parts = kMaxParts;
#ifndef ALBERTNER_NO_THREADS
    if (threads_ > 1 && parts > 1 && !shared_->busy.exchange(true, std::memory_order_acquire)) {
      shared_->run(task, context, parts);
      shared_->busy.store(false, std::memory_order_release);
      return;
    }
#endif
    for (std::size_t p = 0; p < parts; ++p) task(context, p, parts, 0);
  }

private:
#ifndef ALBERTNER_NO_THREADS
  static void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }

  // One word says which step is current and which part is next: generation (32 bits), parts
  // (16 bits), next part (16 bits). A helper claims a part with one compare-and-swap, which
  // fails once the caller has moved on, so it never runs a part of a step it did not see begin.
  struct Shared {
    static std::uint64_t pack(std::uint64_t generation, std::uint64_t parts, std::uint64_t next) {
      return generation << 32 | parts << 16 | next;
    }
    std::atomic<std::uint64_t> state{0};
    std::atomic<std::size_t> done{0}; ///< parts finished in the current step
    std::atomic<bool> busy{false};    ///< a caller is running a step
    Task task = nullptr;              ///< written before a step begins, read after a claim
    void* context = nullptr;
    std::mutex mutex;
    std::condition_variable wake;
    std::atomic<int> sleepers{0};
    std::atomic<bool> stopping{false};

    /// Claims the next part of generation `generation`; false when there is none.
    bool claim(std::uint64_t generation, std::size_t& part, std::size_t& parts) {
      std::uint64_t s = state.load(std::memory_order_acquire);
      for (;;) {
        const std::uint64_t n = s >> 16 & 0xffff, next = s & 0xffff;
        if ((s >> 32) != generation || next >= n) return false;
        if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
          part = static_cast<std::size_t>(next);
          parts = static_cast<std::size_t>(n);
          return true;
        }
      }
    }
    void work(std::uint64_t generation, std::size_t slot) {
      std::size_t part, parts;
      while (claim(generation, part, parts)) {
        task(context, part, parts, slot);
        done.fetch_add(1, std::memory_order_acq_rel);
      }
    }
    void run(Task t, void* c, std::size_t parts) {
      task = t;
      context = c;
      done.store(0, std::memory_order_relaxed);
      const std::uint64_t generation = ((state.load(std::memory_order_relaxed) >> 32) + 1) & 0xffffffffu;
      state.store(pack(generation, parts, 0), std::memory_order_seq_cst);
      if (sleepers.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard<std::mutex> lock(mutex); }
        wake.notify_all();
      }
      work(generation, 0);
      // Every part is claimed: wait for those a helper is still running.
      while (done.load(std::memory_order_acquire) != parts) spin_pause();
    }
  };
  struct Helper {
    std::shared_ptr<Shared> shared;
    std::size_t slot;
  };

  static void* main(void* raw) {
    std::unique_ptr<Helper> self(static_cast<Helper*>(raw));
    Shared& s = *self->shared;
    std::uint64_t seen = s.state.load(std::memory_order_acquire) >> 32;
    for (;;) {
      // Spin a little for the next step of the same pass (steps follow each other within
      // microseconds), then sleep until a step begins.
      std::uint64_t now = seen;
      for (int i = 0; i < 4000 && (now = s.state.load(std::memory_order_acquire) >> 32) == seen; ++i) spin_pause();
      if (now == seen) {
        std::unique_lock<std::mutex> lock(s.mutex);
        s.sleepers.fetch_add(1, std::memory_order_seq_cst);
        while (!s.stopping.load(std::memory_order_relaxed) &&
               (now = s.state.load(std::memory_order_seq_cst) >> 32) == seen)
          s.wake.wait(lock);
        s.sleepers.fetch_sub(1, std::memory_order_relaxed);
      }
      if (s.stopping.load(std::memory_order_acquire)) return nullptr;
      seen = now;
      s.work(seen, self->slot);
    }
  }

  void stop() {
    if (shared_) {
      {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->stopping.store(true, std::memory_order_release);
      }
      shared_->wake.notify_all();
    }
    for (pthread_t h : handles_) pthread_join(h, nullptr);
    handles_.clear();
    shared_.reset();
    threads_ = 1;
  }

  std::shared_ptr<Shared> shared_;
  std::vector<pthread_t> handles_;
#else
  void stop() { threads_ = 1; }
#endif
  std::size_t threads_ = 1;
};

} // namespace detail
} // namespace albertner
