// pytorch_model.bin reading: the golden checkpoint against model.safetensors, hand-built
// archives for every tensor layout, and hostile input (forbidden globals, broken zips and
// pickles) that must end in an error naming what went wrong.
#include <albertner/io/mapped_file.hpp>
#include <albertner/tooling/pickle.hpp>
#include <albertner/tooling/torch_bin.hpp>
#include <albertner/tooling/zip.hpp>
#include <albertner/io/safetensors.hpp>

#include "check_error.hpp"
#include "shared.hpp"
#include "torch_zip.hpp"

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

using namespace albertner;
using namespace albertner::detail;
using namespace albertner_test;

namespace {

Result<TorchCheckpoint> read(const std::string& bytes) {
  return read_torch_bin_buffer(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "test.bin");
}

std::vector<float> values(const TensorView& v) {
  std::vector<float> out(v.nbytes / 4);
  if (!out.empty()) std::memcpy(out.data(), v.data, v.nbytes);
  return out;
}

const std::vector<float> k6 = {1, 2, 3, 4, 5, 6};

} // namespace

// ---- the golden checkpoint -----------------------------------------------------------------

TEST_CASE("golden tiny pytorch_model.bin matches model.safetensors") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  auto ckpt = read_torch_bin(albertner_test::shared_path("golden/tiny/pytorch_model.bin"));
  REQUIRE_MESSAGE(ckpt.ok(), (ckpt.ok() ? "" : ckpt.error().what()));

  auto st = SafeTensors::open(albertner_test::shared_path("golden/tiny/model.safetensors"));
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().what()));

  std::set<std::string> st_names, bin_names;
  for (const TensorView& want : st->tensors()) {
    st_names.insert(want.name);
    CAPTURE(want.name);
    const TensorView* t = ckpt->find(want.name);
    REQUIRE(t != nullptr);
    CHECK(t->type == want.type);
    CHECK(t->shape == want.shape);
    REQUIRE(t->nbytes == want.nbytes);
    CHECK(std::memcmp(t->data, want.data, t->nbytes) == 0);
  }
  for (const TensorView& t : ckpt->tensors) bin_names.insert(t.name);
  CHECK(bin_names == st_names);
  CHECK(ckpt->tensors.size() == st_names.size());
  CHECK(ckpt->tensors.front().name == "albert.embeddings.position_ids");
  CHECK(ckpt->tensors.front().type == dtype::i64);
  CHECK(ckpt->find("no.such.tensor") == nullptr);

  // The result owns the mapping: moving it keeps every view valid.
  TorchCheckpoint moved = std::move(ckpt).value();
  const TensorView* pos = moved.find("albert.embeddings.position_ids");
  REQUIRE(pos != nullptr);
  std::int64_t last;
  std::memcpy(&last, pos->data + pos->nbytes - 8, 8);
  CHECK(last == pos->shape.back() - 1);
}

TEST_CASE("golden checkpoint: every truncation and random byte damage ends in a value, never a crash") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  auto file = MappedFile::open(albertner_test::shared_path("golden/tiny/pytorch_model.bin"));
  REQUIRE(file.ok());
  std::vector<std::uint8_t> bytes(file->data(), file->data() + file->size());
  const std::size_t size = bytes.size();

  std::vector<std::size_t> cuts;
  for (std::size_t c = 0; c < 4096 && c < size; ++c) cuts.push_back(c);
  for (std::size_t c = size > 4096 ? size - 4096 : 0; c < size; ++c) cuts.push_back(c);
  for (std::size_t c = 4096; c + 4096 < size; c += 4093) cuts.push_back(c);
  for (std::size_t c : cuts) {
    auto r = read_torch_bin_buffer(bytes.data(), c, "cut");
    REQUIRE_FALSE(r.ok());
  }
  CHECK_ERROR(read_torch_bin_buffer(bytes.data(), size / 2, "half.bin"), errc::format, "half.bin");

  // Damage bytes of data.pkl (the first record) and of the central directory.
  auto zip = ZipReader::open(bytes.data(), size, "golden");
  REQUIRE(zip.ok());
  auto pkl = zip->read(zip->entries().front());
  REQUIRE(pkl.ok());
  const std::size_t pkl_at = static_cast<std::size_t>(pkl->data - bytes.data());
  std::mt19937 rng(1234);
  std::size_t ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::size_t at = i % 2 ? pkl_at + rng() % pkl->size : size - 1 - rng() % 2000;
    std::uint8_t saved = bytes[at];
    bytes[at] = static_cast<std::uint8_t>(rng());
    auto r = read_torch_bin_buffer(bytes.data(), size, "damaged");
    if (r.ok()) {
      ++ok;
      unsigned sum = 0; // touch every viewed byte (sanitizer builds check the bounds)
      for (const TensorView& t : r->tensors)
        for (std::size_t k = 0; k < t.nbytes; ++k) sum += t.data[k];
      (void)sum;
    }
    bytes[at] = saved;
  }
  MESSAGE(ok << " of 3000 damaged copies still parsed");
}

// ---- hand-built checkpoints ----------------------------------------------------------------

TEST_CASE("contiguous, offset, shared, strided and scalar tensors") {
  std::vector<TensorSpec> specs = {
      {"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}},
      {"w_t", "FloatStorage", "0", 6, 0, {3, 2}, {1, 3}}, // transposed view of the same storage
      {"row1", "FloatStorage", "0", 6, 3, {3}, {1}},      // offset view, shared storage
      {"expanded", "FloatStorage", "0", 6, 4, {2, 2}, {0, 1}},
      {"scalar", "LongStorage", "1", 2, 1, {}, {}},
      {"empty", "FloatStorage", "0", 6, 6, {0, 4}, {4, 1}},
      {"ones", "FloatStorage", "0", 6, 2, {1, 3, 1}, {99, 1, 7}}, // size-1 dims: any stride is contiguous
  };
  std::string longs(16, '\0');
  std::int64_t two[2] = {-5, 1234567890123};
  std::memcpy(&longs[0], two, 16);
  std::string bytes = checkpoint(state_dict(specs), {{"0", floats(k6)}, {"1", longs}});
  auto r = read(bytes);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  REQUIRE(r->tensors.size() == specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) CHECK(r->tensors[i].name == specs[i].name);

  const TensorView* w = r->find("w");
  CHECK(w->shape == std::vector<std::int64_t>{2, 3});
  CHECK(values(*w) == k6);
  const std::uint8_t* begin = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::uint8_t* end = begin + bytes.size();
  CHECK((w->data >= begin && w->data < end)); // zero-copy

  const TensorView* wt = r->find("w_t");
  CHECK(values(*wt) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK_FALSE((wt->data >= begin && wt->data < end)); // materialized copy

  const TensorView* row1 = r->find("row1");
  CHECK(values(*row1) == std::vector<float>{4, 5, 6});
  CHECK(row1->data == w->data + 12);

  CHECK(values(*r->find("expanded")) == std::vector<float>{5, 6, 5, 6});

  const TensorView* scalar = r->find("scalar");
  CHECK(scalar->type == dtype::i64);
  CHECK(scalar->shape.empty());
  REQUIRE(scalar->nbytes == 8);
  std::int64_t sv;
  std::memcpy(&sv, scalar->data, 8);
  CHECK(sv == 1234567890123);

  CHECK(r->find("empty")->nbytes == 0);
  CHECK(r->find("empty")->shape == std::vector<std::int64_t>{0, 4});
  CHECK(values(*r->find("ones")) == std::vector<float>{3, 4, 5});
}

TEST_CASE("OrderedDict root with _metadata BUILD, _rebuild_parameter, torch.Size, every storage dtype") {
  const char* classes[] = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
                           "IntStorage",   "ShortStorage",  "CharStorage", "ByteStorage",     "BoolStorage"};
  const dtype types[] = {dtype::f32, dtype::f64, dtype::f16, dtype::bf16, dtype::i64,
                         dtype::i32, dtype::i16, dtype::i8,  dtype::u8,   dtype::boolean};
  Pickle p;
  p.proto(2).global("collections", "OrderedDict").put(0).empty_tuple().reduce().put(1).mark();
  std::map<std::string, std::string> storages;
  for (int i = 0; i < 10; ++i) {
    TensorSpec t{"t" + std::to_string(i), classes[i], std::to_string(i), 3, 0, {3}, {1}};
    storages[t.key] = std::string(3 * dtype_size(types[i]), static_cast<char>(i));
    p.str(t.name);
    if (i == 1) {
      p.global("torch._utils", "_rebuild_parameter");
      p.mark();
      emit_tensor(p, t);
      p.op(0x88).get(0).empty_tuple().reduce().tuple().reduce();
    } else if (i == 2) { // size given as torch.Size((3,))
      p.global("torch._utils", "_rebuild_tensor_v2").mark();
      p.mark().str("storage").global("torch", t.storage_class).str(t.key).str("cpu").integer(3).tuple().op('Q');
      p.integer(0).global("torch", "Size").ints({3}).op(0x85).reduce().ints({1}).op(0x89);
      p.get(0).empty_tuple().reduce().op('N').tuple().reduce(); // 7th argument: metadata
    } else {
      emit_tensor(p, t);
    }
  }
  p.setitems();
  // state = {'_metadata': OrderedDict({'': {'version': 1}})}
  p.empty_dict().str("_metadata").get(0).empty_tuple().reduce().str("").empty_dict().str("version").integer(1);
  p.op('s').op('s').op('s').op('b').stop();
  const std::string bytes = checkpoint(p.b, storages); // the views point into it
  auto r = read(bytes);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  REQUIRE(r->tensors.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    CHECK(r->tensors[i].type == types[i]);
    CHECK(r->tensors[i].shape == std::vector<std::int64_t>{3});
    CHECK(r->tensors[i].nbytes == 3 * dtype_size(types[i]));
    CHECK(r->tensors[i].data[0] == i);
  }
}

TEST_CASE("protocol 4 opcodes: FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, LONG_BINPUT/GET, BINFLOAT, LONG1") {
  const double half = 0.5;
  std::uint64_t bits;
  std::memcpy(&bits, &half, 8);
  auto binfloat = [&](Pickle& p) {
    p.op('G');
    for (int i = 7; i >= 0; --i) p.op(static_cast<std::uint8_t>(bits >> (8 * i)));
  };

  Pickle body;
  body.empty_dict().op(0x94).mark();
  body.short_str("x").op(0x94);
  body.short_str("torch._utils").short_str("_rebuild_tensor_v2").op(0x93).op(0x94).mark();
  body.mark().short_str("storage").short_str("torch").short_str("FloatStorage").op(0x93);
  body.short_str("0").short_str("cpu").op(0x8a).op(1).op(6).tuple().op('Q'); // numel as LONG1
  body.op(0x8a).op(0);                                                       // offset: LONG1 of 0 bytes
  body.ints({2, 3}).ints({3, 1}).op(0x89);
  body.short_str("collections").short_str("OrderedDict").op(0x93).empty_tuple().reduce();
  body.tuple().reduce().setitems();
  body.empty_dict().short_str("lr");
  binfloat(body);
  body.op('s').op('b').stop(); // BUILD the root dict with {'lr': 0.5}

  Pickle p;
  p.proto(4).op(0x95);
  put_le(p.b, body.b.size(), 8);
  p.b += body.b;
  const std::string bytes = checkpoint(p.b, {{"0", floats(k6)}}); // the views point into it
  auto r = read(bytes);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  REQUIRE(r->tensors.size() == 1);
  CHECK(r->tensors[0].name == "x");
  CHECK(r->tensors[0].shape == std::vector<std::int64_t>{2, 3});
  CHECK(values(r->tensors[0]) == k6);

  // Straight through the machine: LONG1 +32767, memo round trip at a large index, 0.5, LONG1 -2.
  Pickle q;
  q.proto(2).op(0x8a).op(2).op(0xff).op(0x7f).op('r');
  put_le(q.b, 70000, 4);
  q.op('j');
  put_le(q.b, 70000, 4);
  binfloat(q);
  q.op(0x8a).op(1).op(0xfe).op(0x87).stop(); // TUPLE3 of the top three
  auto g = unpickle(reinterpret_cast<const std::uint8_t*>(q.b.data()), q.b.size(), "q");
  REQUIRE(g.ok());
  const PickleNode& root = (*g)[g->root];
  CHECK(root.type == PickleNode::kind::tuple);
  REQUIRE(root.items.size() == 3);
  CHECK((*g)[root.items[0]].integer == 32767);
  CHECK((*g)[root.items[1]].floating == 0.5);
  CHECK((*g)[root.items[2]].integer == -2);
  CHECK(root.offset == q.b.size() - 2);
}

// ---- forbidden globals -----------------------------------------------------------------------

TEST_CASE("globals outside the allow-list are refused at the GLOBAL opcode and nothing runs") {
  const std::string sentinel = "/tmp/albertner_pwned_" + std::to_string(::getpid());
  ::unlink(sentinel.c_str());
  const std::string command = "touch " + sentinel;
  struct Bad {
    const char* module;
    const char* name;
  };
  const Bad bad[] = {{"os", "system"},
                     {"posix", "system"},
                     {"nt", "system"},
                     {"builtins", "eval"},
                     {"builtins", "exec"},
                     {"__builtin__", "eval"},
                     {"subprocess", "Popen"},
                     {"subprocess", "call"},
                     {"builtins", "getattr"},
                     {"torch", "load"},
                     {"collections", "defaultdict"},
                     {"torch._utils", "_rebuild_device_tensor_from_numpy"},
                     {"torch", "FloatStorag"},
                     {"torch ", "FloatStorage"},
                     {"", ""}};
  for (const Bad& g : bad) {
    const std::string qualified = std::string(g.module) + "." + g.name;
    CAPTURE(qualified);

    // GLOBAL + (command,) + REDUCE, alone and inside a valid state_dict after a real tensor.
    Pickle alone;
    alone.proto(2).global(g.module, g.name).str(command).op(0x85).reduce().stop();
    Pickle nested;
    nested.proto(2).empty_dict().mark().str("w");
    emit_tensor(nested, {"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}});
    nested.str("evil").global(g.module, g.name).str(command).op(0x85).reduce().setitems().stop();
    // STACK_GLOBAL (protocol 4) spelling of the same call.
    Pickle stacked;
    stacked.proto(4).short_str(g.module).short_str(g.name).op(0x93).short_str(command).op(0x85).reduce().stop();
    // The check fires before the machine reads on: trailing garbage is never reached.
    Pickle garbage;
    garbage.proto(2).global(g.module, g.name).op(0xff).op(0xfe);

    for (const std::string* pkl : {&alone.b, &nested.b, &stacked.b, &garbage.b}) {
      CHECK_ERROR(read(checkpoint(*pkl, {{"0", floats(k6)}})), errc::security, "'" + qualified + "'");
      CHECK_ERROR(unpickle(reinterpret_cast<const std::uint8_t*>(pkl->data()), pkl->size(), "x.pkl"), errc::security,
                  "'" + qualified + "'");
    }
  }
  CHECK(::access(sentinel.c_str(), F_OK) != 0);
}

// ---- damaged archives and pickles -----------------------------------------------------------

TEST_CASE("zip errors: truncated, huge declared size, compressed, missing records, not a zip") {
  std::vector<TensorSpec> one = {{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}}};
  const std::string pkl = state_dict(one);
  const std::string good = checkpoint(pkl, {{"0", floats(k6)}});
  REQUIRE(read(good).ok());

  CHECK_ERROR(read(good.substr(0, good.size() - 10)), errc::format, "end-of-central-directory");
  CHECK_ERROR(read(good.substr(0, 30)), errc::format, "end-of-central-directory");
  CHECK_ERROR(read(""), errc::format, "not a PyTorch checkpoint");
  CHECK_ERROR(read("hello, world"), errc::format, "not a PyTorch checkpoint");

  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", floats(k6), 0, 0x7fffffff}})), errc::format,
              "'archive/data/0'");
  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl, 0, 0xffffffff}})), errc::format, "ZIP64");
  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl, 8}, {"archive/data/0", floats(k6)}})), errc::unsupported,
              "'archive/data.pkl' is compressed");
  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", floats(k6), 8}})), errc::unsupported,
              "'archive/data/0' is compressed");
  CHECK_ERROR(read(make_zip({{"archive/version", "3"}, {"archive/data/0", floats(k6)}})), errc::missing,
              "archive/data.pkl");
  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl}})), errc::missing, "'archive/data/0'");
  CHECK_ERROR(read(make_zip({{"data.pkl", pkl}})), errc::format, "archive folder");
  CHECK_ERROR(read(make_zip({{"archive/data.pkl", pkl}, {"archive/data.pkl", pkl}})), errc::format, "duplicate");
  std::string empty = good; // EOCD says zero entries
  for (std::size_t k = empty.size() - 14; k < empty.size() - 10; ++k) empty[k] = 0;
  CHECK_ERROR(read(empty), errc::format, "no entries");

  // Central directory claims more entries than it can hold.
  std::string many = good;
  many[many.size() - 12] = static_cast<char>(0xff);
  many[many.size() - 11] = static_cast<char>(0xff);
  many[many.size() - 14] = static_cast<char>(0xff);
  many[many.size() - 13] = static_cast<char>(0xff);
  CHECK_ERROR(read(many), errc::format, "entries cannot fit");

  // Local header offset pointing past the end.
  std::string far = make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", floats(k6)}});
  std::size_t cd = far.find(std::string("PK\x01\x02", 4));
  far[cd + 42 + 3] = 0x70;
  CHECK_ERROR(read(far), errc::format, "no local header");

  // The archive folder name is taken from the first entry, whatever it is.
  auto renamed = read(make_zip({{"pytorch_model/data.pkl", pkl}, {"pytorch_model/data/0", floats(k6)}}));
  CHECK(renamed.ok());
}

TEST_CASE("storage and view errors, byteorder, legacy format") {
  std::vector<TensorSpec> one = {{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}}};
  CHECK_ERROR(read(checkpoint(state_dict(one), {{"0", floats({1, 2, 3, 4, 5})}})), errc::format,
              "declares 6 F32 elements but its record has 20 bytes");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 1, {2, 3}, {3, 1}}}), {{"0", floats(k6)}})),
              errc::format, "tensor 'w': view");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {3, 3}, {1, 3}}}), {{"0", floats(k6)}})),
              errc::format, "reaches element 8");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {1 << 20, 1 << 20, 1 << 10}, {0, 0, 0}}}),
                              {{"0", floats(k6)}})),
              errc::unsupported, "materializing");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {std::int64_t(1) << 62, 8}, {0, 0}}}),
                              {{"0", floats(k6)}})),
              errc::format, "overflows");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3}}}), {{"0", floats(k6)}})),
              errc::format, "equal length");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}},
                                          {"v", "LongStorage", "0", 3, 0, {3}, {1}}}),
                              {{"0", floats(k6)}})),
              errc::format, "declared twice");
  CHECK_ERROR(read(checkpoint(state_dict({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}},
                                          {"w", "FloatStorage", "0", 6, 0, {6}, {1}}}),
                              {{"0", floats(k6)}})),
              errc::format, "duplicate tensor 'w'");

  // Non-tensor values and non-dict roots.
  Pickle epoch;
  epoch.proto(2).empty_dict().str("epoch").integer(3).op('s').stop();
  CHECK_ERROR(read(checkpoint(epoch.b, {})), errc::unsupported, "'epoch': value is a int");
  Pickle list;
  list.proto(2).op(']').stop();
  CHECK_ERROR(read(checkpoint(list.b, {})), errc::unsupported, "holds a list");

  const std::string pkl = state_dict(one);
  CHECK(read(checkpoint(pkl, {{"0", floats(k6)}}, {{"archive/byteorder", "little"}})).ok());
  CHECK_ERROR(read(checkpoint(pkl, {{"0", floats(k6)}}, {{"archive/byteorder", "big"}})), errc::unsupported,
              "big-endian");
  CHECK_ERROR(read(checkpoint(pkl, {{"0", floats(k6)}}, {{"archive/byteorder", "middle"}})), errc::format, "byteorder");

  // Legacy torch.save: PROTO 2, LONG1 10-byte magic 0x1950a86a20f9469cfc6c, ...
  std::string legacy = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.";
  CHECK_ERROR(read(legacy), errc::unsupported, "torch.save(torch.load('pytorch_model.bin'), 'pytorch_model.bin')");
  CHECK_ERROR(read(legacy), errc::unsupported, "safe_serialization=True");
}

Result<PickleGraph> run(const std::string& b) {
  return unpickle(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "data.pkl");
}
/// String literals keep their embedded NUL bytes.
template <std::size_t N>
Result<PickleGraph> run(const char (&literal)[N]) {
  return run(std::string(literal, N - 1));
}

TEST_CASE("pickle machine errors name the problem and the byte offset") {
  CHECK_ERROR(run("\x80\x02K\x01\xff."), errc::format, "opcode 0xff at byte 4");
  CHECK_ERROR(run("\x80\x02K\x01i__main__\nX\n."), errc::format, "opcode 0x69 at byte 4"); // INST
  CHECK_ERROR(run("\x80\x02."), errc::format, "stack underflow at byte 2");
  CHECK_ERROR(run("\x80\x02K\x01K\x02s."), errc::format, "stack underflow");
  CHECK_ERROR(run("\x80\x02(K\x01\x86."), errc::format, "TUPLE2: stack underflow");
  CHECK_ERROR(run("\x80\x02K\x01(R."), errc::format, "stack underflow");
  CHECK_ERROR(run("\x80\x02K\x01t."), errc::format, "no MARK");
  CHECK_ERROR(run("\x80\x02K\x01q\x00h\x05."), errc::format, "memo index 5 was never stored at byte 6");
  CHECK_ERROR(run("\x80\x02K\x01r\xff\xff\xff\xff."), errc::format, "memo index 4294967295 too large");
  CHECK_ERROR(run("\x80\x02j\x00\x00\x00\x01."), errc::format, "never stored");
  CHECK_ERROR(run("\x80\x02K\x01"), errc::format, "without a STOP");
  CHECK_ERROR(run("\x80\x02X\xff\xff\xff\x7f"), errc::format, "runs past the end");
  CHECK_ERROR(run("\x80\x02G\x01"), errc::format, "BINFLOAT");
  CHECK_ERROR(run("\x80\x02\x8a\x09"), errc::unsupported, "LONG1");
  CHECK_ERROR(run("\x80\x09."), errc::unsupported, "protocol 9");
  CHECK_ERROR(run("\x80\x02\x95\xff\xff\xff\xff\xff\xff\xff\xff."), errc::format, "FRAME");
  CHECK_ERROR(run("\x80\x02"
                  "ctorch\nFloatStorage"),
              errc::format, "newline");
  CHECK_ERROR(run("\x80\x02K\x01K\x02"
                  "a."),
              errc::format, "APPEND on a int");
  CHECK_ERROR(run("\x80\x02)K\x01K\x02s."), errc::format, "SETITEM on a tuple");
  CHECK_ERROR(run("\x80\x02}(K\x01u."), errc::format, "odd number");
  CHECK_ERROR(run("\x80\x02K\x01)R."), errc::format, "REDUCE on a int");
  CHECK_ERROR(run("\x80\x02"
                  "ctorch\nFloatStorage\n)R."),
              errc::unsupported, "REDUCE on torch.FloatStorage");
  CHECK_ERROR(run("\x80\x02"
                  "ccollections\nOrderedDict\nK\x01\x85R."),
              errc::unsupported, "OrderedDict called with");
  CHECK_ERROR(run("\x80\x02K\x01}b."), errc::unsupported, "BUILD on a int");
  CHECK_ERROR(run("\x80\x02K\x01K\x02\x93."), errc::format, "STACK_GLOBAL needs two strings");

  // Limits: deep stacks, many marks, a self-containing list (cycles are only ids).
  PickleLimits small;
  small.max_stack = 8;
  small.max_marks = 2;
  small.max_nodes = 16;
  auto limited = [&](const std::string& b) {
    return unpickle(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), "data.pkl", small);
  };
  CHECK_ERROR(limited("\x80\x02" + std::string(9, 'N') + "."), errc::format, "stack deeper than 8");
  CHECK_ERROR(limited("\x80\x02(((."), errc::format, "too many nested MARKs");
  CHECK_ERROR(limited("\x80\x02" + std::string(4, 'N') + std::string(6, 't') + "."), errc::format, "no MARK");
  std::string nodes = "\x80\x02";
  for (int i = 0; i < 17; ++i) nodes += "Na";
  CHECK_ERROR(limited("\x80\x02]" + nodes.substr(2) + "."), errc::format, "more than 16 values");
  auto cyc = run("\x80\x02]q\x00h\x00\x61.");
  REQUIRE(cyc.ok());
  CHECK((*cyc)[cyc->root].items == std::vector<PickleId>{cyc->root});
}

TEST_CASE("missing file is an io error") {
  CHECK_ERROR(read_torch_bin("/nonexistent/albertner/pytorch_model.bin"), errc::io, "/nonexistent/albertner");
}
