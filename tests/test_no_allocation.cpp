// Steady state allocates nothing: after reserve() (or a first call of the largest shape),
// Encoder::forward makes no heap allocation, with one thread or several; on a workspace given one
// caller-owned buffer (use_buffer) no pass allocates, and a pass that does not fit is an error
// that writes nothing. Every operator new of this program is counted, and Eigen is built with
// EIGEN_RUNTIME_NO_MALLOC so that any of its own allocations inside the window would assert.
#define EIGEN_RUNTIME_NO_MALLOC
#include "shared.hpp"

#include <albertner/tooling.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

namespace {

/// forward() on `in` with `ws`, counting the allocations it makes (Eigen's would assert).
albertner::Result<albertner::EncoderOutput> counted_forward(const albertner::Encoder& encoder,
                                                            const albertner::EncoderInput& in,
                                                            albertner::Encoder::Workspace& ws, long& made) {
  const long before = allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  auto out = encoder.forward(in, ws);
  Eigen::internal::set_is_malloc_allowed(true);
  made = allocations.load() - before;
  return out;
}

/// A workspace on one caller buffer of exactly workspace_buffer_bytes(4, 96, threads), starting
/// one byte past an aligned address and followed by a guard region: passes up to [4, 96] allocate
/// nothing and give the bits of a workspace that owns its scratch; larger ones fail without
/// touching the buffer or writing past it; too small or null buffers are refused.
void check_caller_buffer(const albertner::Encoder& encoder, std::size_t threads) {
  using Workspace = albertner::Encoder::Workspace;
  CAPTURE(threads);
  const std::int64_t H = encoder.config().hidden_size, L = encoder.config().num_labels();
  const std::size_t need = encoder.workspace_buffer_bytes(4, 96, threads);
  CHECK(need >= encoder.workspace_bytes(4, 96, threads) + 63);
  constexpr std::size_t guard = 4096;
  constexpr unsigned char guard_byte = 0xA5;
  std::vector<unsigned char> storage(need + 64 + guard, 0xCD);
  unsigned char* data = storage.data() + 1; // misaligned: the slack aligns it
  while (reinterpret_cast<std::uintptr_t>(data) % 64 != 1) ++data;
  std::fill(data + need, data + need + guard, guard_byte);
  auto guard_intact = [&] {
    return std::all_of(data + need, data + need + guard, [](unsigned char c) { return c == guard_byte; });
  };

  std::vector<std::int64_t> ids(3 * 200); // the largest shape below
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(5 + i * 37 % 9000);
  Workspace owned, lent;
  REQUIRE(owned.set_threads(threads).ok());
  REQUIRE(lent.set_threads(threads).ok());
  { // too small, null, or a shape forward() would refuse: refused, the workspace unchanged
    auto small = encoder.use_buffer(lent, data, need - 1, 4, 96);
    REQUIRE_FALSE(small.ok());
    CHECK(small.error().code() == albertner::errc::invalid_input);
    const std::string message = small.error().message();
    CAPTURE(message);
    CHECK(message.find(std::to_string(need) + " bytes") != std::string::npos);
    CHECK(message.find("has " + std::to_string(need - 1)) != std::string::npos);
    CHECK(lent.buffer() == nullptr);
    auto null = encoder.use_buffer(lent, nullptr, need, 4, 96);
    REQUIRE_FALSE(null.ok());
    CHECK(null.error().code() == albertner::errc::invalid_input);
    auto shape = encoder.use_buffer(lent, data, need, 0, 96);
    REQUIRE_FALSE(shape.ok());
    CHECK(shape.error().code() == albertner::errc::invalid_input);
    CHECK(lent.buffer() == nullptr);
  }
  REQUIRE(encoder.use_buffer(lent, data, need, 4, 96).ok());
  CHECK(lent.buffer() == data);
  CHECK(lent.buffer_bytes() == need);
  CHECK(lent.bytes() == 0);

  // Any shape whose workspace_buffer_bytes fits runs: [1, 200] does in a buffer for [4, 96].
  REQUIRE(encoder.workspace_buffer_bytes(1, 200, threads) <= need);
  std::vector<std::int64_t> mask(ids.size(), 1), padded(ids.size(), 1);
  struct Shape {
    std::int64_t batch, seq_len;
    bool skip_padding;
  };
  for (const Shape& shape : {Shape{4, 96, false}, Shape{1, 17, false}, Shape{3, 64, true}, Shape{4, 96, true},
                             Shape{2, 95, false}, Shape{1, 200, false}}) {
    CAPTURE(shape.batch);
    CAPTURE(shape.seq_len);
    CAPTURE(shape.skip_padding);
    albertner::EncoderInput in;
    in.batch = shape.batch;
    in.seq_len = shape.seq_len;
    in.input_ids = ids.data();
    in.attention_mask = mask.data();
    if (shape.skip_padding) { // row b has 3 * b padded positions at its end
      for (std::int64_t b = 0; b < shape.batch; ++b)
        for (std::int64_t t = 0; t < shape.seq_len; ++t)
          padded[static_cast<std::size_t>(b * shape.seq_len + t)] = t < shape.seq_len - 3 * b ? 1 : 0;
      in.attention_mask = padded.data();
      in.skip_padding = true;
    }
    auto expected = encoder.forward(in, owned);
    REQUIRE(expected.ok());
    const std::size_t rows = static_cast<std::size_t>(shape.batch * shape.seq_len);
    const std::vector<float> logits(expected->logits, expected->logits + rows * static_cast<std::size_t>(L));
    const std::vector<float> hidden(expected->last_hidden_state,
                                    expected->last_hidden_state + rows * static_cast<std::size_t>(H));
    long made = -1;
    auto out = counted_forward(encoder, in, lent, made);
    REQUIRE(out.ok());
    CHECK(made == 0);
    CHECK(std::memcmp(out->logits, logits.data(), logits.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(out->last_hidden_state, hidden.data(), hidden.size() * sizeof(float)) == 0);
    const auto at = reinterpret_cast<const unsigned char*>(out->logits);
    CHECK((at >= data && at + logits.size() * sizeof(float) <= data + need));
    CHECK(reinterpret_cast<std::uintptr_t>(out->logits) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(out->last_hidden_state) % 64 == 0);
    CHECK(lent.bytes() == encoder.workspace_bytes(shape.batch, shape.seq_len, threads));
    CHECK(guard_intact());
  }
  REQUIRE(encoder.reserve(lent, 4, 96).ok()); // fits: nothing to grow

  // Larger shapes: an error naming the bytes needed and given; nothing written, in or past the buffer.
  const std::vector<unsigned char> before(data, data + need);
  for (const Shape& shape : {Shape{5, 96, false}, Shape{4, 97, false}, Shape{3, 200, false}}) {
    CAPTURE(shape.batch);
    CAPTURE(shape.seq_len);
    albertner::EncoderInput in;
    in.batch = shape.batch;
    in.seq_len = shape.seq_len;
    in.input_ids = ids.data();
    const std::size_t needed = encoder.workspace_buffer_bytes(shape.batch, shape.seq_len, threads);
    REQUIRE(needed > need);
    long made = -1;
    auto out = counted_forward(encoder, in, lent, made);
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code() == albertner::errc::invalid_input);
    const std::string message = out.error().message();
    CAPTURE(message);
    CHECK(message.find("needs " + std::to_string(needed) + " bytes") != std::string::npos);
    CHECK(message.find("has " + std::to_string(need)) != std::string::npos);
    auto reserved = encoder.reserve(lent, shape.batch, shape.seq_len);
    CHECK_FALSE(reserved.ok());
    CHECK(std::memcmp(before.data(), data, need) == 0);
    CHECK(guard_intact());
  }

  // Back to scratch of its own: the next pass allocates again.
  lent.drop_buffer();
  CHECK(lent.buffer() == nullptr);
  albertner::EncoderInput in;
  in.batch = 1;
  in.seq_len = 17;
  in.input_ids = ids.data();
  long made = -1;
  CHECK(counted_forward(encoder, in, lent, made).ok());
  CHECK(made > 0);
}

} // namespace

TEST_CASE(
    "Encoder::forward allocates nothing once the workspace is reserved or on a caller's buffer (use_buffer), "
    "with 1 and 2 threads, f32 and bf16 and int8 weights") {
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
    auto encoder = albertner::make_encoder(*model);
    REQUIRE(encoder.ok());
    if (albertner::kernel_isa() == albertner::KernelIsa::portable) {
      // Eigen's general matrix product allocates its blocking buffers on every call.
      MESSAGE("skipped: the portable kernels let Eigen allocate (no AVX2 on this CPU, or ALBERTNER_ISA=portable)");
      return;
    }
    std::vector<std::int64_t> ids(4 * 96), mask(4 * 96, 1);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(5 + i * 37 % 9000);
    { // The counter sees the first call's growth: what the rest of the test rules out.
      albertner::Encoder::Workspace fresh;
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
      albertner::Encoder::Workspace ws;
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
    for (std::size_t threads : {1, 2}) check_caller_buffer(*encoder, threads);
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
  auto allocations_of_call = [&](const albertner::Tagger<>& tagger) {
    const long before = allocations.load();
    const bool ok = tagger.tag_batch(texts).ok();
    CHECK(ok);
    return allocations.load() - before;
  };
  albertner::TaggerOptions options;
  options.threads = 2;
  options.batch_size = 4;

  auto reserved = albertner::Tagger<>::open(model, options);
  REQUIRE(reserved.ok());
  REQUIRE(reserved->reserve(1, 128).ok());
  const long first = allocations_of_call(*reserved);
  const long second = allocations_of_call(*reserved);
  CHECK(first == second);

  auto cold = albertner::Tagger<>::open(model, options);
  REQUIRE(cold.ok());
  // At least one workspace is made and grown in the first call. (How many depends on whether the
  // helper thread wakes in time to claim a group, so later calls of this Tagger may make a second.)
  CHECK(allocations_of_call(*cold) > first);
}
