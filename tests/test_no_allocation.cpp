// Steady state allocates nothing: after reserve() (or a first call of the largest shape),
// Encoder::forward makes no heap allocation, with one thread or several. Every operator new of
// this program is counted, and Eigen is built with EIGEN_RUNTIME_NO_MALLOC so that any of its
// own allocations inside the window would assert.
#define EIGEN_RUNTIME_NO_MALLOC
#include "shared.hpp"

#include <albertner/tooling.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {
std::atomic<long> allocations{0};
}

// These replacements pair malloc with free themselves; GCC's check assumes the standard ones.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE(
    "Encoder::forward allocates nothing once the workspace is reserved, with 1 and 2 threads, f32 and "
    "bf16 and int8 weights") {
  const std::string bundled = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  // The bf16 and int8 copies round or quantize each product's operand into the workspace: those
  // buffers must be reserved too.
  const std::string bf16 = std::string(ALBERTNER_BINARY_DIR) + "/no-allocation-bf16.safetensors";
  const std::string int8 = std::string(ALBERTNER_BINARY_DIR) + "/no-allocation-int8.safetensors";
  albertner::ConvertOptions options;
  options.matrices = albertner::dtype::bf16;
  REQUIRE(albertner::convert_model_file(bundled, bf16, options).ok());
  options.matrices = albertner::dtype::i8;
  REQUIRE(albertner::convert_model_file(bundled, int8, options).ok());
  for (const std::string& path : {bundled, bf16, int8}) {
    CAPTURE(path);
    auto model = albertner::Model::open(path);
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().what()));
    auto encoder = albertner::make_encoder<float>(*model);
    REQUIRE(encoder.ok());
    if (albertner::kernel_isa() == albertner::KernelIsa::portable) {
      // Eigen's general matrix product allocates its blocking buffers on every call.
      MESSAGE("skipped: the portable kernels let Eigen allocate (no AVX2 on this CPU, or ALBERTNER_ISA=portable)");
      return;
    }
    std::vector<std::int64_t> ids(4 * 96), mask(4 * 96, 1);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(5 + i * 37 % 9000);
    { // The counter sees the first call's growth: what the rest of the test rules out.
      albertner::Encoder<float>::Workspace fresh;
      albertner::EncoderInput in;
      in.batch = 1;
      in.seq_len = 8;
      in.input_ids = ids.data();
      const long before = allocations.load();
      REQUIRE(encoder->forward(in, fresh).ok());
      CHECK(allocations.load() - before >= 8); // at least one per workspace buffer
    }
    for (std::size_t threads : {1, 2}) {
      CAPTURE(threads);
      albertner::Encoder<float>::Workspace ws;
      REQUIRE(ws.set_threads(threads).ok());
      REQUIRE(encoder->reserve(ws, 4, 96).ok());
      for (std::int64_t batch : {4, 1, 3})
        for (std::int64_t seq_len : {96, 17, 64}) {
          CAPTURE(batch);
          CAPTURE(seq_len);
          albertner::EncoderInput in;
          in.batch = batch;
          in.seq_len = seq_len;
          in.input_ids = ids.data();
          in.attention_mask = mask.data();
          const long before = allocations.load();
          Eigen::internal::set_is_malloc_allowed(false);
          const bool ok = encoder->forward(in, ws).ok();
          Eigen::internal::set_is_malloc_allowed(true);
          const long made = allocations.load() - before;
          CHECK(ok);
          CHECK(made == 0);
        }
      CHECK(ws.bytes() == encoder->workspace_bytes(4, 96, threads));
    }
  }
  std::remove(bf16.c_str());
  std::remove(int8.c_str());
}

TEST_CASE(
    "Tagger::tag_batch after reserve grows no scratch: its first call allocates what every later call "
    "does, with 2 threads; without reserve the first call makes and grows workspaces") {
  const std::string model = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  // 12 texts of 3 to about 100 tokens: 3 groups of 4, shared between the 2 threads.
  std::vector<std::string> texts;
  std::string text = "Paris";
  for (int i = 0; i < 12; ++i) {
    texts.push_back(text);
    text += " and the Union of European Football Associations";
  }
  auto allocations_of_call = [&](const albertner::Tagger<float>& tagger) {
    const long before = allocations.load();
    const bool ok = tagger.tag_batch(texts).ok();
    CHECK(ok);
    return allocations.load() - before;
  };
  albertner::TaggerOptions options;
  options.threads = 2;
  options.batch_size = 4;

  auto reserved = albertner::Tagger<float>::open(model, options);
  REQUIRE(reserved.ok());
  REQUIRE(reserved->reserve(1, 128).ok());
  const long first = allocations_of_call(*reserved);
  const long second = allocations_of_call(*reserved);
  CHECK(first == second);

  auto cold = albertner::Tagger<float>::open(model, options);
  REQUIRE(cold.ok());
  // At least one workspace is made and grown in the first call. (How many depends on whether the
  // helper thread wakes in time to claim a group, so later calls of this Tagger may make a second.)
  CHECK(allocations_of_call(*cold) > first);
}
