// safetensors: reading the golden files, writer → reader round trips, and one test per rule
// of the reference parser that a malformed file can break.
#include <albertner/io/safetensors.hpp>
#include <albertner/tooling/safetensors_writer.hpp>

#include <doctest/doctest.h>

#include "shared.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

using albertner::dtype;
using albertner::errc;
using albertner::SafeTensors;
using albertner::SafeTensorsWriter;
using albertner::TensorView;

namespace {

using Bytes = std::vector<std::uint8_t>;

/// A safetensors image: `declared` as the header length, then `header`, then `data_bytes`
/// bytes 0, 1, 2, ...
Bytes image(std::uint64_t declared, const std::string& header, std::size_t data_bytes) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(declared >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<std::uint8_t>(i));
  return out;
}
/// The usual case: the header length is the header's size.
Bytes image(const std::string& header, std::size_t data_bytes) { return image(header.size(), header, data_bytes); }

albertner::Result<SafeTensors> read(const Bytes& bytes) { return SafeTensors::from_buffer(bytes.data(), bytes.size()); }

/// Asserts that reading `bytes` fails with `code` and a message containing `part`.
void expect_error(const Bytes& bytes, errc code, const std::string& part) {
  auto st = read(bytes);
  REQUIRE_FALSE(st.ok());
  INFO(st.error().what());
  CHECK(st.error().code() == code);
  CHECK(st.error().message().find(part) != std::string::npos);
}

template <class T>
std::vector<T> values(const TensorView& t) {
  std::vector<T> v(t.nbytes / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

Bytes file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A fresh empty folder for file tests.
std::string temp_folder() {
  char tmpl[] = "/tmp/albertner_test_safetensors_XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  return dir;
}

std::vector<std::string> folder_entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

void remove_folder(const std::string& dir) {
  for (const std::string& name : folder_entries(dir)) ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Golden files

TEST_CASE("the tiny model file: every tensor, in header order, zero-copy, with its metadata") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  auto st = SafeTensors::open(albertner_test::shared_path("golden/tiny/model.safetensors"));
  REQUIRE_MESSAGE(st.ok(), st.error().what());
  CHECK(st->file_size() == 1958632);
  REQUIRE(st->tensors().size() == 26);
  CHECK(st->tensors().front().name == "albert.embeddings.LayerNorm.bias");
  CHECK(st->tensors().back().name == "classifier.weight");
  REQUIRE(st->metadata_value("format") != nullptr);
  CHECK(*st->metadata_value("format") == "pt");
  CHECK(st->metadata_value("absent") == nullptr);
  CHECK(st->find("absent") == nullptr);

  const TensorView* ids = st->find("albert.embeddings.position_ids");
  REQUIRE(ids != nullptr);
  CHECK(ids->type == dtype::i64);
  CHECK(ids->shape == std::vector<std::int64_t>{1, 64});
  const auto id_values = values<std::int64_t>(*ids);
  REQUIRE(id_values.size() == 64);
  for (std::int64_t i = 0; i < 64; ++i) CHECK(id_values[static_cast<std::size_t>(i)] == i);

  const TensorView* words = st->find("albert.embeddings.word_embeddings.weight");
  REQUIRE(words != nullptr);
  CHECK(words->type == dtype::f32);
  CHECK(words->shape == std::vector<std::int64_t>{30000, 16});
  CHECK(words->nbytes == 30000u * 16u * 4u);

  const TensorView* bias = st->find("classifier.bias");
  REQUIRE(bias != nullptr);
  CHECK(bias->shape_string() == "[9]");
  const auto b = values<float>(*bias);
  CHECK(b[0] == doctest::Approx(0.02836894616484642).epsilon(1e-7));
  CHECK(b[8] == doctest::Approx(-0.008329448290169239).epsilon(1e-7));

  // This file is ordered by name, yet every F32 tensor happens to be 4-aligned in the mapping.
  for (const TensorView& t : st->tensors())
    if (t.type == dtype::f32) CHECK(albertner::is_aligned(t, 4));
}

TEST_CASE("the tiny expected outputs: I64 inputs, F32 logits and their F64 twin agree") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  auto st = SafeTensors::open(albertner_test::shared_path("golden/tiny/expected.safetensors"));
  REQUIRE_MESSAGE(st.ok(), st.error().what());
  CHECK(st->tensors().size() == 105);
  REQUIRE(st->metadata_value("fixture") != nullptr);
  CHECK(*st->metadata_value("fixture") == "tiny");

  const TensorView* ids = st->find("case1.input_ids");
  REQUIRE(ids != nullptr);
  CHECK(ids->type == dtype::i64);
  CHECK(values<std::int64_t>(*ids) == std::vector<std::int64_t>{2, 19342, 13506, 16675, 232, 10193, 3});
  // Name order puts this I64 tensor at data offset 14396: not 8-aligned, which consumers must check.
  CHECK_FALSE(albertner::is_aligned(*ids, 8));

  const TensorView* logits = st->find("case0.logits");
  const TensorView* logits64 = st->find("case0.logits_fp64");
  REQUIRE(logits != nullptr);
  REQUIRE(logits64 != nullptr);
  CHECK(logits64->type == dtype::f64);
  CHECK(logits->shape == logits64->shape);
  const auto f = values<float>(*logits);
  const auto d = values<double>(*logits64);
  REQUIRE(f.size() == 9);
  REQUIRE(d.size() == 9);
  for (std::size_t i = 0; i < 9; ++i) CHECK(std::fabs(f[i] - d[i]) < 1e-5);
}

TEST_CASE("from_buffer reads the same file without copying it") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  const Bytes bytes = file_contents(albertner_test::shared_path("golden/tiny/model.safetensors"));
  auto st = read(bytes);
  REQUIRE_MESSAGE(st.ok(), st.error().what());
  CHECK(st->file_size() == bytes.size());
  const TensorView* ids = st->find("albert.embeddings.position_ids");
  REQUIRE(ids != nullptr);
  CHECK(ids->data >= bytes.data());
  CHECK(ids->data + ids->nbytes <= bytes.data() + bytes.size());
  CHECK(values<std::int64_t>(*ids)[63] == 63);
}

TEST_CASE("opening a missing file is an io error naming the path") {
  auto st = SafeTensors::open("/nonexistent/albertner/model.safetensors");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code() == errc::io);
  CHECK(st.error().message().find("/nonexistent/albertner/model.safetensors") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Writer

TEST_CASE("writer → reader round trip keeps every dtype, shape, value and metadata entry") {
  SafeTensorsWriter w;
  const float f32[] = {1.5f, -2.0f, 3.25f, 0.0f};
  const double f64[] = {3.141592653589793};
  const std::uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF};
  const std::uint16_t bf16[] = {0x3F80, 0x4000};
  const std::int8_t i8[] = {-128, 127, 0};
  const std::uint8_t u8[] = {0, 255};
  const std::int16_t i16[] = {-32768, 32767};
  const std::int32_t i32[] = {-7, 1 << 30};
  const std::int64_t i64[] = {-1, INT64_MAX};
  const std::uint8_t boolean[] = {1, 0, 1};
  REQUIRE(w.add("f32", dtype::f32, {2, 2}, f32, sizeof f32).ok());
  REQUIRE(w.add("f64", dtype::f64, {}, f64, sizeof f64).ok()); // a scalar: shape [], one element
  REQUIRE(w.add("f16", dtype::f16, {3}, f16, sizeof f16).ok());
  REQUIRE(w.add("bf16", dtype::bf16, {1, 2}, bf16, sizeof bf16).ok());
  REQUIRE(w.add("i8", dtype::i8, {3}, i8, sizeof i8).ok());
  REQUIRE(w.add("u8", dtype::u8, {2}, u8, sizeof u8).ok());
  REQUIRE(w.add("i16", dtype::i16, {2}, i16, sizeof i16).ok());
  REQUIRE(w.add("i32", dtype::i32, {2}, i32, sizeof i32).ok());
  REQUIRE(w.add("i64", dtype::i64, {2, 1}, i64, sizeof i64).ok());
  REQUIRE(w.add("bool", dtype::boolean, {3}, boolean, sizeof boolean).ok());
  REQUIRE(w.add("empty", dtype::f32, {0, 5}, nullptr, 0).ok());
  w.set_metadata("format", "pt");
  w.set_metadata("note", "quotes \" backslash \\ newline \n and ünïcödé");
  w.set_metadata("format", "albertner"); // replaces, keeps its place

  auto bytes = w.to_bytes();
  REQUIRE(bytes.ok());
  auto st = read(*bytes);
  REQUIRE_MESSAGE(st.ok(), st.error().what());
  CHECK(st->tensors().size() == 11);
  REQUIRE(st->metadata().size() == 2);
  CHECK(st->metadata()[0] == std::make_pair(std::string("format"), std::string("albertner")));
  CHECK(st->metadata()[1].second == "quotes \" backslash \\ newline \n and ünïcödé");

  const auto check = [&](const char* name, dtype type, std::vector<std::int64_t> shape, const void* data,
                         std::size_t n) {
    INFO(name);
    const TensorView* t = st->find(name);
    REQUIRE(t != nullptr);
    CHECK(t->type == type);
    CHECK(t->shape == shape);
    REQUIRE(t->nbytes == n);
    CHECK((n == 0 || std::memcmp(t->data, data, n) == 0));
  };
  check("f32", dtype::f32, {2, 2}, f32, sizeof f32);
  check("f64", dtype::f64, {}, f64, sizeof f64);
  check("f16", dtype::f16, {3}, f16, sizeof f16);
  check("bf16", dtype::bf16, {1, 2}, bf16, sizeof bf16);
  check("i8", dtype::i8, {3}, i8, sizeof i8);
  check("u8", dtype::u8, {2}, u8, sizeof u8);
  check("i16", dtype::i16, {2}, i16, sizeof i16);
  check("i32", dtype::i32, {2}, i32, sizeof i32);
  check("i64", dtype::i64, {2, 1}, i64, sizeof i64);
  check("bool", dtype::boolean, {3}, boolean, sizeof boolean);
  check("empty", dtype::f32, {0, 5}, nullptr, 0);
}

TEST_CASE("writer orders tensors by dtype alignment then name, pads the header to 8, metadata first") {
  SafeTensorsWriter w;
  const std::uint8_t b[8] = {};
  REQUIRE(w.add("z.u8", dtype::u8, {1}, b, 1).ok());
  REQUIRE(w.add("a.u8", dtype::u8, {1}, b, 1).ok());
  REQUIRE(w.add("m.f32", dtype::f32, {1}, b, 4).ok());
  REQUIRE(w.add("n.i64", dtype::i64, {1}, b, 8).ok());
  REQUIRE(w.add("b.f16", dtype::f16, {1}, b, 2).ok());
  REQUIRE(w.add("c.bool", dtype::boolean, {1}, b, 1).ok());
  REQUIRE(w.add("d.f64", dtype::f64, {1}, b, 8).ok());
  w.set_metadata("format", "pt");
  auto bytes = w.to_bytes();
  REQUIRE(bytes.ok());

  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | (*bytes)[static_cast<std::size_t>(i)];
  CHECK(n % 8 == 0);
  const std::string header(bytes->begin() + 8, bytes->begin() + 8 + static_cast<std::ptrdiff_t>(n));
  CHECK(header.substr(0, header.find_last_not_of(' ') + 1) ==
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"n.i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        "\"d.f64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
        "\"m.f32\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]},"
        "\"b.f16\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[20,22]},"
        "\"a.u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[22,23]},"
        "\"z.u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[23,24]},"
        "\"c.bool\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[24,25]}}");
  CHECK(header.size() - (header.find_last_not_of(' ') + 1) < 8);

  auto st = read(*bytes);
  REQUIRE(st.ok());
  // Aligned ordering makes every tensor aligned for its dtype in an 8-aligned buffer.
  for (const TensorView& t : st->tensors()) CHECK(albertner::is_aligned(t, albertner::dtype_size(t.type)));
}

TEST_CASE("writer output is byte-identical to the reference writer's own test vectors") {
  SUBCASE("no tensors") {
    auto bytes = SafeTensorsWriter().to_bytes();
    REQUIRE(bytes.ok());
    CHECK(*bytes == Bytes{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '});
  }
  SUBCASE("metadata only") {
    SafeTensorsWriter w;
    w.set_metadata("framework", "pt");
    auto bytes = w.to_bytes();
    REQUIRE(bytes.ok());
    CHECK(*bytes == image(40, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 0));
  }
  SUBCASE("one F32 tensor, padded with spaces to keep its data aligned") {
    const float data[] = {0, 1, 2, 3, 4, 5};
    SafeTensorsWriter w;
    REQUIRE(w.add("attn0", dtype::f32, {1, 1, 2, 3}, data, sizeof data).ok());
    auto bytes = w.to_bytes();
    REQUIRE(bytes.ok());
    Bytes expected = image(72, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", 0);
    const auto* raw = reinterpret_cast<const std::uint8_t*>(data);
    expected.insert(expected.end(), raw, raw + sizeof data);
    CHECK(*bytes == expected);
  }
}

TEST_CASE("writer rejects bad tensors") {
  SafeTensorsWriter w;
  const float data[4] = {};
  REQUIRE(w.add("a", dtype::f32, {2, 2}, data, 16).ok());

  auto duplicate = w.add("a", dtype::f32, {2, 2}, data, 16);
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().code() == errc::invalid_input);
  CHECK(duplicate.error().message() == "tensor 'a' is added twice");

  auto mismatch = w.add("b", dtype::f32, {2, 2}, data, 12);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().code() == errc::shape);
  CHECK(mismatch.error().message() == "tensor 'b': F32 [2, 2] needs 16 bytes but 12 were given");

  auto negative = w.add("c", dtype::f32, {2, -2}, data, 16);
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.error().code() == errc::shape);
  CHECK(negative.error().message().find("negative dimension") != std::string::npos);

  auto overflow = w.add("d", dtype::f32, {1LL << 40, 1LL << 40}, data, 16);
  REQUIRE_FALSE(overflow.ok());
  CHECK(overflow.error().code() == errc::shape);
  CHECK(overflow.error().message().find("overflows") != std::string::npos);

  auto reserved = w.add("__metadata__", dtype::u8, {0}, nullptr, 0);
  REQUIRE_FALSE(reserved.ok());
  CHECK(reserved.error().code() == errc::invalid_input);

  auto bad_name = w.add("\xff", dtype::u8, {0}, nullptr, 0);
  REQUIRE_FALSE(bad_name.ok());
  CHECK(bad_name.error().code() == errc::invalid_input);

  w.set_metadata("key", "\xc3"); // truncated UTF-8: a reader would reject the header
  auto bytes = w.to_bytes();
  REQUIRE_FALSE(bytes.ok());
  CHECK(bytes.error().code() == errc::invalid_input);
  CHECK(bytes.error().message().find("'key'") != std::string::npos);

  // The failed adds left nothing behind.
  w.set_metadata("key", "ok");
  auto good = w.to_bytes();
  REQUIRE(good.ok());
  auto st = read(*good);
  REQUIRE(st.ok());
  CHECK(st->tensors().size() == 1);
}

TEST_CASE("write() replaces the file atomically and leaves no temporary file behind") {
  const std::string dir = temp_folder();
  const std::string path = dir + "/out.safetensors";
  {
    std::ofstream old(path, std::ios::binary);
    old << "old contents";
  }
  SafeTensorsWriter w;
  const std::int32_t data[] = {1, 2, 3};
  REQUIRE(w.add("x", dtype::i32, {3}, data, sizeof data).ok());
  w.set_metadata("format", "pt");
  auto written = w.write(path);
  REQUIRE_MESSAGE(written.ok(), written.error().what());
  CHECK(folder_entries(dir) == std::vector<std::string>{"out.safetensors"});

  auto bytes = w.to_bytes();
  REQUIRE(bytes.ok());
  CHECK(file_contents(path) == *bytes);
  {
    auto st = SafeTensors::open(path);
    REQUIRE_MESSAGE(st.ok(), st.error().what());
    REQUIRE(st->find("x") != nullptr);
    CHECK(values<std::int32_t>(*st->find("x")) == std::vector<std::int32_t>{1, 2, 3});
  }

  // A folder that does not exist: an io error naming it, and nothing created anywhere.
  auto failed = w.write(dir + "/missing/out.safetensors");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == errc::io);
  CHECK(failed.error().message().find(dir + "/missing/") != std::string::npos);
  CHECK(folder_entries(dir) == std::vector<std::string>{"out.safetensors"});
  remove_folder(dir);
}

TEST_CASE("views stay valid when the SafeTensors object is moved") {
  SafeTensorsWriter w;
  const float data[] = {7.0f};
  REQUIRE(w.add("x", dtype::f32, {1}, data, sizeof data).ok());
  auto bytes = w.to_bytes();
  REQUIRE(bytes.ok());
  auto st = read(*bytes);
  REQUIRE(st.ok());
  SafeTensors moved = std::move(st).value();
  SafeTensors target;
  CHECK(target.tensors().empty());
  target = std::move(moved);
  REQUIRE(target.find("x") != nullptr);
  CHECK(values<float>(*target.find("x"))[0] == 7.0f);
}

// ---------------------------------------------------------------------------------------------
// Edge cases the reference parser accepts

TEST_CASE("accepted: no tensors, zero-size tensors, scalars, unknown entry keys, any offset order") {
  SUBCASE("an empty header object and no data") { CHECK(read(image("{}", 0)).ok()); }
  SUBCASE("zero-size tensors, even two at the same offset") {
    const Bytes bytes = image(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                              R"("b":{"dtype":"I64","shape":[3,0],"data_offsets":[0,0]}})",
                              0);
    auto st = read(bytes);
    REQUIRE_MESSAGE(st.ok(), st.error().what());
    CHECK(st->find("b")->nbytes == 0);
  }
  SUBCASE("a scalar needs one element") {
    const Bytes bytes = image(R"({"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})", 8);
    auto st = read(bytes);
    REQUIRE(st.ok());
    CHECK(st->find("s")->numel() == 1);
  }
  SUBCASE("unknown keys inside an entry are ignored") {
    CHECK(read(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[1,{}]}})", 1)).ok());
  }
  SUBCASE("header order need not follow offsets; tensors() keeps header order") {
    const Bytes bytes = image(R"({"late":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},)"
                              R"("early":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                              3);
    auto st = read(bytes);
    REQUIRE(st.ok());
    CHECK(st->tensors()[0].name == "late");
    CHECK(st->find("late")->data[0] == 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Rejected inputs: one per rule, each with the errc and the distinctive part of the message

TEST_CASE("rejected: a file shorter than the 8-byte header length") {
  expect_error(Bytes{1, 0, 0}, errc::format, "file is 3 bytes, too short for the 8-byte header length");
  CHECK_FALSE(SafeTensors::from_buffer(nullptr, 0).ok());
}

TEST_CASE("rejected: a header length that runs past the end of the file") {
  expect_error(image(1000, "{}", 0), errc::format, "header length 1000 runs past the end of the file (8 + 1000 > 10");
  // 8 + N would overflow 64 bits; the size limit catches it first.
  expect_error(image(UINT64_MAX, "{}", 0), errc::format, "exceeds the limit");
}

TEST_CASE("rejected: a header larger than 100,000,000 bytes") {
  expect_error(image(100000001, "{}", 0), errc::format, "header length 100000001 exceeds the limit of 100000000 bytes");
}

TEST_CASE("rejected: a header that is not valid UTF-8") {
  expect_error(image("{\"a\xff\":{}}", 0), errc::format, "header is not valid UTF-8 (byte 3 of the header)");
  expect_error(image("{}\xc0\x80", 0), errc::format, "not valid UTF-8"); // overlong, outside any string
}

TEST_CASE("rejected: a header that is not JSON") {
  expect_error(image(R"({"a":{"dtype":"F32",)", 0), errc::format, "header: invalid JSON at byte");
  expect_error(image("{} x", 0), errc::format, "unexpected character after the JSON value");
}

TEST_CASE("rejected: a header that is JSON but not an object") {
  expect_error(image("[1, 2]  ", 0), errc::format, "header is an array, not a JSON object");
  expect_error(image("\"str\"", 0), errc::format, "header is a string, not a JSON object");
}

TEST_CASE("rejected: a tensor entry of the wrong structure") {
  expect_error(image(R"({"a":[0,4]})", 4), errc::format, "tensor 'a': entry is an array, not an object");
  expect_error(image(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4), errc::format,
               "tensor 'a': field \"dtype\" is missing");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}})", 4), errc::format,
               "tensor 'a': field \"dtype\" appears twice");
  expect_error(image(R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", 4), errc::format,
               "tensor 'a': \"dtype\" is 32, not a string");
  expect_error(image(R"({"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", 4), errc::format,
               "tensor 'a': \"shape\" is 1, not an array");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", 4), errc::format,
               "tensor 'a': \"shape\" item 0 is the non-integer 1, not a non-negative integer");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 4), errc::format,
               "tensor 'a': \"data_offsets\" is an array of 3 items, not a pair of non-negative integers");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4), errc::format,
               "tensor 'a': \"data_offsets\" item 0 is -4, not a non-negative integer");
}

TEST_CASE("rejected: an unknown dtype; a safetensors dtype this library cannot hold is unsupported") {
  expect_error(image(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4), errc::format,
               "tensor 'a': unknown dtype \"F33\"");
  expect_error(image(R"({"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", 4), errc::unsupported,
               "tensor 'a': dtype U16 is not supported");
}

TEST_CASE("rejected: a negative dimension") {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}})", 8), errc::format,
               "tensor 'a': \"shape\" item 1 is -1, not a non-negative integer");
}

TEST_CASE("rejected: a shape whose byte size overflows 64 bits") {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 0),
               errc::format, "tensor 'a': F32 [4294967296, 4294967296, 0] has a byte size that overflows");
  expect_error(image(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0), errc::format,
               "has a byte size that overflows");
  // Beyond int64: not an integer this parser represents.
  expect_error(image(R"({"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}})", 0), errc::format,
               "\"shape\" item 0 is the non-integer");
}

TEST_CASE("rejected: duplicate tensor names") {
  expect_error(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     2),
               errc::format, "duplicate tensor 'a' in the header");
}

TEST_CASE("rejected: overlapping data_offsets") {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                     16),
               errc::format, "tensor 'b': data_offsets [8, 16] overlap tensor 'a' (data_offsets [0, 12])");
}

TEST_CASE("rejected: a hole between tensors, or before the first one") {
  expect_error(
      image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})",
            20),
      errc::format,
      "tensor 'b': data_offsets [16, 20] leave a hole: bytes [12, 16) of the data section belong to no tensor");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), errc::format,
               "tensor 'a': data_offsets [4, 8] leave a hole: bytes [0, 4)");
}

TEST_CASE("rejected: data_offsets whose end is before their begin") {
  expect_error(image(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
                     R"("x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("y":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
                     4),
               errc::format, "tensor 'y': data_offsets [8, 4] end before begin");
}

TEST_CASE("rejected: data_offsets that hold a different byte count than dtype and shape need") {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12), errc::format,
               "tensor 'a': data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16");
}

TEST_CASE("rejected: bytes after the last tensor, or a data section shorter than the tensors") {
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 6), errc::format,
               "the tensors end at byte 4 of the data section but it holds 6 bytes (2 trailing bytes)");
  expect_error(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 3), errc::format,
               "the tensors end at byte 4 of the data section but it holds only 3 bytes");
  expect_error(image("{}", 1), errc::format, "(1 trailing bytes)");
}

TEST_CASE("rejected: __metadata__ that is not an object of string to string") {
  expect_error(image(R"({"__metadata__":{"format":1}})", 0), errc::format,
               "\"__metadata__\" key 'format' is 1, not a string");
  expect_error(image(R"({"__metadata__":["pt"]})", 0), errc::format,
               "\"__metadata__\" is an array, not an object of strings");
  expect_error(image(R"({"__metadata__":null})", 0), errc::format, "\"__metadata__\" is null");
  expect_error(image(R"({"__metadata__":{"k":"a","k":"b"}})", 0), errc::format, "\"__metadata__\" has key 'k' twice");
  expect_error(image(R"({"__metadata__":{},"__metadata__":{}})", 0), errc::format, "header has \"__metadata__\" twice");
}

TEST_CASE("errors from open() name the file") {
  const std::string dir = temp_folder();
  const std::string path = dir + "/bad.safetensors";
  {
    const Bytes bad = image(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bad.data()), static_cast<std::streamsize>(bad.size()));
  }
  auto st = SafeTensors::open(path);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code() == errc::format);
  CHECK(st.error().message().rfind(path + ": tensor 'a':", 0) == 0);
  remove_folder(dir);
}
