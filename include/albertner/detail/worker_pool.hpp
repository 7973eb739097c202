// The threads one encoder workspace runs a forward pass on: the caller's thread plus N - 1
// workers that live as long as the workspace, so a pass starts no thread and takes no lock on
// its hot path beyond one handshake per parallel step.
#pragma once

#include "../status.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

class WorkerPool {
public:
  /// Part `part` of `parts` of one parallel step.
  using Task = void (*)(void* context, std::size_t part, std::size_t parts);

  WorkerPool() = default;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  WorkerPool(WorkerPool&& other) noexcept { *this = std::move(other); }
  WorkerPool& operator=(WorkerPool&& other) noexcept {
    if (this != &other) {
      stop();
      shared_ = std::move(other.shared_);
      handles_ = std::move(other.handles_);
      threads_ = other.threads_;
      other.handles_.clear();
      other.threads_ = 1;
    }
    return *this;
  }
  ~WorkerPool() { stop(); }

  /// Runs with `threads` threads in all (the caller's included). Errors: errc::invalid_input for 0,
  /// errc::io when the system refuses a thread (the threads already started are stopped again).
  Status start(std::size_t threads) {
    stop();
    if (threads == 0) return Error(errc::invalid_input, "threads must be at least 1");
    shared_ = std::make_shared<Shared>();
    for (std::size_t k = 1; k < threads; ++k) {
      auto* arg = new (std::nothrow) Worker{shared_, k};
      pthread_t handle;
      const int rc = arg ? pthread_create(&handle, nullptr, &WorkerPool::main, arg) : -1;
      if (rc != 0) {
        delete arg;
        stop();
        return Error(errc::io, "cannot start encoder thread " + std::to_string(k + 1) + " of " +
                                   std::to_string(threads) + " (pthread_create returned " + std::to_string(rc) + ")");
      }
      handles_.push_back(handle);
    }
    threads_ = threads;
    return ok_status();
  }

  std::size_t threads() const noexcept { return threads_; }

  /// Calls task(context, p, threads()) for every p, part 0 on the calling thread, and returns
  /// when all parts are done.
  void run(Task task, void* context) {
    if (threads_ == 1) return task(context, 0, 1);
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      shared_->task = task;
      shared_->context = context;
      shared_->parts = threads_;
      shared_->pending.store(threads_ - 1, std::memory_order_relaxed);
      shared_->generation.fetch_add(1, std::memory_order_release);
    }
    shared_->wake.notify_all();
    task(context, 0, threads_);
    // The workers' parts are as long as ours: spinning is cheaper than sleeping here.
    while (shared_->pending.load(std::memory_order_acquire) != 0) spin_pause();
  }

private:
  struct Shared {
    std::mutex mutex;
    std::condition_variable wake;
    Task task = nullptr;
    void* context = nullptr;
    std::size_t parts = 0;
    bool stopping = false;
    std::atomic<std::size_t> generation{0};
    std::atomic<std::size_t> pending{0};
  };
  struct Worker {
    std::shared_ptr<Shared> shared;
    std::size_t part;
  };

  static void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  static void* main(void* raw) {
    std::unique_ptr<Worker> self(static_cast<Worker*>(raw));
    Shared& s = *self->shared;
    std::size_t seen = 0;
    for (;;) {
      // Spin briefly for the next step of the same pass, then sleep until woken.
      for (int i = 0; i < 20000 && s.generation.load(std::memory_order_acquire) == seen; ++i) spin_pause();
      Task task;
      void* context;
      std::size_t parts;
      {
        std::unique_lock<std::mutex> lock(s.mutex);
        s.wake.wait(lock, [&] { return s.stopping || s.generation.load(std::memory_order_relaxed) != seen; });
        if (s.stopping) return nullptr;
        seen = s.generation.load(std::memory_order_relaxed);
        task = s.task;
        context = s.context;
        parts = s.parts;
      }
      task(context, self->part, parts);
      s.pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void stop() {
    if (shared_) {
      {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->stopping = true;
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
  std::size_t threads_ = 1;
};

} // namespace detail
} // namespace albertner
