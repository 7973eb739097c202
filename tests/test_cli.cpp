// The albertner command-line tool, run as a separate process: convert (both weights files), info,
// logits against Hugging Face's outputs (golden/tiny), tokenize against Hugging Face tokenizers'
// output (golden/tokenizer), tag in every format and aggregation (and against Hugging Face's
// pipeline, golden/pipeline), bench's JSON lines, and the error contract: exit status != 0, nothing
// on stdout, exactly one line on stderr starting "albertner: error:".
#include "shared.hpp"

#include <albertner/io/json.hpp>
#include <albertner/model/model.hpp>
#include <albertner/io/safetensors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

using albertner::Json;

namespace {

std::string binary() { return std::string(ALBERTNER_BINARY_DIR) + "/albertner"; }

/// True when the CLI was built; otherwise one line saying why the calling test is skipped.
bool have_binary() {
  struct stat st;
  if (::stat(binary().c_str(), &st) == 0) return true;
  MESSAGE("skipped: " << binary() << " not found (configure with -DALBERTNER_BUILD_TOOLS=ON)");
  return false;
}

std::string read_text(const std::string& path) {
  std::string text;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

void write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE_MESSAGE(f, "cannot write " << path);
  REQUIRE(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  std::fclose(f);
}

/// A scratch folder for this process, removed at exit.
struct Scratch {
  std::string path;
  Scratch() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "albertner-cli-XXXXXX").string();
    if (const char* made = ::mkdtemp(tmpl.data())) path = made;
  }
  ~Scratch() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};
const std::string& scratch() {
  static Scratch s;
  REQUIRE_MESSAGE(!s.path.empty(), "mkdtemp failed");
  return s.path;
}

/// One shell word.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Output {
  int status = -1;
  std::string out, err;
};

/// Runs `albertner ARGS...` with `input` (or /dev/null) on stdin; stdout and stderr are captured.
Output cli(const std::vector<std::string>& args, const std::optional<std::string>& input = std::nullopt) {
  static int counter = 0;
  const std::string base = scratch() + "/run" + std::to_string(counter++);
  std::string command = quote(binary());
  for (const std::string& a : args) command += " " + quote(a);
  if (input) {
    write_text(base + ".in", *input);
    command += " < " + quote(base + ".in");
  } else {
    command += " < /dev/null";
  }
  command += " > " + quote(base + ".out") + " 2> " + quote(base + ".err");
  const int rc = std::system(command.c_str());
  Output o;
  o.status = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  o.out = read_text(base + ".out");
  o.err = read_text(base + ".err");
  return o;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

/// The error contract: failure, nothing on stdout, one line on stderr beginning "albertner: error:".
void check_fails(const Output& o, const std::string& what) {
  INFO(what << "\nstdout: " << o.out.substr(0, 300) << "\nstderr: " << o.err);
  CHECK(o.status != 0);
  CHECK(o.out.empty());
  CHECK(o.err.rfind("albertner: error:", 0) == 0);
  CHECK(o.err.size() > 0);
  CHECK(o.err.find('\n') == o.err.size() - 1);
}

Output check_ok(const std::vector<std::string>& args, const std::optional<std::string>& input = std::nullopt) {
  Output o = cli(args, input);
  INFO("albertner " << joined(args) << "\nstderr: " << o.err);
  REQUIRE(o.status == 0);
  return o;
}

Json parse(const std::string& text) {
  auto j = albertner::parse_json(text);
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? std::string() : j.error().what()) << "\n" << text.substr(0, 500));
  return std::move(j).value();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

std::string json_string(const std::string& s) {
  std::string out;
  albertner::json_escape_to(out, s);
  return out;
}

/// golden/FIXTURE converted once per process (nullptr without the fixture).
const std::string* converted(const std::string& fixture) {
  static std::map<std::string, std::string> done; // map: pointers to its values stay valid
  auto it = done.find(fixture);
  if (it != done.end()) return &it->second;
  if (!albertner_test::have_shared("golden/" + fixture)) return nullptr;
  const std::string out = scratch() + "/" + fixture + ".safetensors";
  check_ok({"convert", albertner_test::shared_path("golden/" + fixture), "-o", out});
  return &done.emplace(fixture, out).first->second;
}

std::int64_t int_at(const Json& j, const char* key) {
  const Json* v = j.find(key);
  REQUIRE_MESSAGE((v && v->is_integer()), "missing integer \"" << key << "\"");
  return v->as_int();
}

const Json& member(const Json& j, const char* key) {
  const Json* v = j.find(key);
  REQUIRE_MESSAGE(v, "missing \"" << key << "\"");
  return *v;
}

std::vector<std::int64_t> ints_of(const Json& array) {
  REQUIRE(array.is_array());
  std::vector<std::int64_t> out;
  for (const Json& v : array.items()) {
    REQUIRE(v.is_integer());
    out.push_back(v.as_int());
  }
  return out;
}

/// [[a, b], ...] → flat {a, b, ...}
std::vector<std::int64_t> pairs_of(const Json& array) {
  REQUIRE(array.is_array());
  std::vector<std::int64_t> out;
  for (const Json& p : array.items()) {
    std::vector<std::int64_t> v = ints_of(p);
    REQUIRE(v.size() == 2);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<std::string> strings_of(const Json& array) {
  REQUIRE(array.is_array());
  std::vector<std::string> out;
  for (const Json& v : array.items()) {
    REQUIRE(v.is_string());
    out.push_back(v.as_string());
  }
  return out;
}

/// word_ids with null as -1.
std::vector<std::int64_t> word_ids_of(const Json& array) {
  REQUIRE(array.is_array());
  std::vector<std::int64_t> out;
  for (const Json& v : array.items()) {
    REQUIRE((v.is_null() || v.is_integer()));
    out.push_back(v.is_null() ? -1 : v.as_int());
  }
  return out;
}

// ---- golden/tiny inputs for `logits` ----

template <class T>
std::vector<T> copy_of(const albertner::TensorView& t) {
  std::vector<T> out(static_cast<std::size_t>(t.numel()));
  REQUIRE(t.nbytes == out.size() * sizeof(T));
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

struct Case {
  std::int64_t B = 0, T = 0;
  std::vector<std::int64_t> ids, mask, types;
  std::vector<float> logits, hidden;
  std::int64_t labels = 0, hidden_size = 0;
};

Case golden_case(const albertner::SafeTensors& expected, int n) {
  const std::string p = "case" + std::to_string(n) + ".";
  auto get = [&](const std::string& name) -> const albertner::TensorView& {
    const albertner::TensorView* t = expected.find(p + name);
    REQUIRE_MESSAGE(t, "expected.safetensors lacks " << p << name);
    return *t;
  };
  Case c;
  const albertner::TensorView& ids = get("input_ids");
  REQUIRE(ids.type == albertner::dtype::i64);
  REQUIRE(ids.shape.size() == 2);
  c.B = ids.shape[0];
  c.T = ids.shape[1];
  c.ids = copy_of<std::int64_t>(ids);
  c.mask = copy_of<std::int64_t>(get("attention_mask"));
  c.types = copy_of<std::int64_t>(get("token_type_ids"));
  c.logits = copy_of<float>(get("logits"));
  c.hidden = copy_of<float>(get("last_hidden_state"));
  c.labels = get("logits").shape[2];
  c.hidden_size = get("last_hidden_state").shape[2];
  return c;
}

std::string matrix_json(const std::vector<std::int64_t>& v, std::int64_t B, std::int64_t T) {
  std::string out = "[";
  for (std::int64_t b = 0; b < B; ++b) {
    out += b ? ",[" : "[";
    for (std::int64_t t = 0; t < T; ++t) out += (t ? "," : "") + std::to_string(v[static_cast<std::size_t>(b * T + t)]);
    out += "]";
  }
  return out + "]";
}

std::string case_json(const Case& c, bool with_mask = true, bool with_types = true) {
  std::string out = "{\"input_ids\": " + matrix_json(c.ids, c.B, c.T);
  if (with_mask) out += ", \"attention_mask\": " + matrix_json(c.mask, c.B, c.T);
  if (with_types) out += ", \"token_type_ids\": " + matrix_json(c.types, c.B, c.T);
  return out + "}";
}

/// [B][T][C] from the output, flattened; checks the shape.
std::vector<double> tensor_of(const Json& j, std::int64_t B, std::int64_t T, std::int64_t C) {
  std::vector<double> out;
  REQUIRE(j.is_array());
  REQUIRE(static_cast<std::int64_t>(j.size()) == B);
  for (const Json& row : j.items()) {
    REQUIRE(static_cast<std::int64_t>(row.size()) == T);
    for (const Json& pos : row.items()) {
      REQUIRE(static_cast<std::int64_t>(pos.size()) == C);
      for (const Json& v : pos.items()) {
        REQUIRE(v.is_number());
        out.push_back(v.as_double());
      }
    }
  }
  return out;
}

/// Largest |got - want| over positions whose mask is 1.
double max_error_real(const std::vector<double>& got, const std::vector<float>& want,
                      const std::vector<std::int64_t>& mask, std::int64_t cols) {
  REQUIRE(got.size() == want.size());
  REQUIRE(want.size() == mask.size() * static_cast<std::size_t>(cols));
  double err = 0;
  for (std::size_t r = 0; r < mask.size(); ++r) {
    if (mask[r] != 1) continue;
    for (std::int64_t k = 0; k < cols; ++k) {
      const std::size_t i = r * static_cast<std::size_t>(cols) + static_cast<std::size_t>(k);
      err = std::max(err, std::fabs(got[i] - static_cast<double>(want[i])));
    }
  }
  return err;
}

/// Two entity lists agree: the same labels, words and spans, scores within `tolerance` (a text
/// batched with others is padded, which moves its fp32 results by rounding only).
void check_same_entities(const Json& a, const Json& b, double tolerance = 1e-5) {
  REQUIRE(a.is_array());
  REQUIRE(b.is_array());
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Json& x = a.items()[i];
    const Json& y = b.items()[i];
    REQUIRE(x.size() == y.size());
    for (const char* key : {"entity", "entity_group", "word", "text"}) {
      if (x.find(key) || y.find(key)) CHECK(member(x, key).as_string() == member(y, key).as_string());
    }
    for (const char* key : {"index", "start", "end", "byte_start", "byte_end"}) {
      if (x.find(key) || y.find(key)) CHECK(int_at(x, key) == int_at(y, key));
    }
    CHECK(std::fabs(member(x, "score").as_double() - member(y, "score").as_double()) < tolerance);
  }
}

/// One <p class="doc"> of an html page: its text (label tags dropped, markup removed, character
/// references decoded) and, for each byte of it, the data-label of the mark it is in ("-": none).
struct HtmlDoc {
  std::string text;
  std::vector<std::string> labels;
};
std::vector<HtmlDoc> html_docs(const std::string& html) {
  std::vector<HtmlDoc> docs;
  const std::string open = "<p class=\"doc\" dir=\"", label_tag = "<span class=\"label\">",
                    mark = "<mark class=\"entity\" data-label=\"";
  for (std::size_t p = html.find(open); p != std::string::npos; p = html.find(open, p + 1)) {
    const std::size_t begin = html.find("\">", p + open.size()) + 2, end = html.find("</p>", begin);
    REQUIRE(end != std::string::npos);
    const std::string body = html.substr(begin, end - begin);
    HtmlDoc doc;
    std::string current = "-";
    auto add = [&](const std::string& s) {
      doc.text += s;
      doc.labels.insert(doc.labels.end(), s.size(), current);
    };
    for (std::size_t i = 0; i < body.size();) {
      if (body.compare(i, label_tag.size(), label_tag) == 0) {
        i = body.find("</span>", i) + 7;
      } else if (body.compare(i, mark.size(), mark) == 0) {
        const std::size_t q = body.find('"', i + mark.size());
        current = body.substr(i + mark.size(), q - i - mark.size());
        i = body.find('>', q) + 1;
      } else if (body.compare(i, 5, "<bdi>") == 0 || body.compare(i, 6, "</bdi>") == 0) {
        i = body.find('>', i) + 1;
      } else if (body.compare(i, 7, "</mark>") == 0) {
        current = "-";
        i += 7;
      } else if (body[i] == '<') {
        FAIL("unexpected markup in a document: " << body.substr(i, 40));
      } else if (body[i] == '&') {
        const std::size_t semi = body.find(';', i);
        const std::string name = body.substr(i, semi + 1 - i);
        add(name == "&amp;" ? "&" : name == "&lt;" ? "<" : name == "&gt;" ? ">" : name == "&quot;" ? "\"" : name);
        i = semi + 1;
      } else {
        add(std::string(1, body[i++]));
      }
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

/// For each byte of `text`, the entity type of the first entity covering it ("-": none).
std::vector<std::string> byte_labels(const std::string& text, const Json& entities) {
  std::vector<std::string> labels(text.size(), "-");
  for (const Json& e : entities.items()) {
    const std::string& group = member(e, e.find("entity") ? "entity" : "entity_group").as_string();
    const std::size_t dash = group.find('-');
    const std::string type = dash == std::string::npos ? group : group.substr(dash + 1);
    for (auto k = static_cast<std::size_t>(int_at(e, "byte_start"));
         k < static_cast<std::size_t>(int_at(e, "byte_end")); ++k)
      if (labels[k] == "-") labels[k] = type;
  }
  return labels;
}

const std::vector<std::string> kAggregations = {"none", "simple", "first", "average", "max"};
const std::string kSentence = "George Washington went to Washington.";

} // namespace

TEST_CASE("cli: no subcommand, --help and --version") {
  if (!have_binary()) return;
  Output o = cli({});
  CHECK(o.status != 0);
  CHECK(o.out.empty());
  CHECK(o.err.rfind("albertner: error:", 0) == 0);
  o = check_ok({"--help"});
  for (const char* sub : {"convert", "info", "logits", "tokenize", "tag", "bench"})
    CHECK(o.out.find(sub) != std::string::npos);
  // --version: the project's version, as CMakeLists.txt's project() states it.
  const std::string cmake = read_text(std::string(ALBERTNER_SOURCE_DIR) + "/CMakeLists.txt");
  const std::string key = "project(albertner VERSION ";
  const std::size_t at = cmake.find(key);
  REQUIRE(at != std::string::npos);
  const std::string version = cmake.substr(at + key.size(), cmake.find(' ', at + key.size()) - at - key.size());
  CHECK(check_ok({"--version"}).out == "albertner " + version + "\n");
  // Help shows the defaults.
  o = check_ok({"tag", "--help"});
  CHECK(o.out.find("--batch INT:INT in [1 - 4096]=8") != std::string::npos);
  CHECK(o.out.find("--format TEXT:{json,jsonl,conll,pretty,html}=json") != std::string::npos);
  CHECK(o.out.find("-m,--model") != std::string::npos);
}

TEST_CASE("cli convert: golden/tiny from model.safetensors and from pytorch_model.bin") {
  if (!have_binary() || !albertner_test::have_shared("golden/tiny")) return;
  const std::string dir = albertner_test::shared_path("golden/tiny");
  const std::string a = scratch() + "/convert-st.safetensors", b = scratch() + "/convert-bin.safetensors";
  Output st = check_ok({"convert", dir, "-o", a});
  Output bin = check_ok({"convert", dir, "-o", b, "--weights", "pytorch_model.bin"});
  for (const Output* o : {&st, &bin}) {
    CHECK(o->out.empty()); // the summary goes to stderr
    INFO(o->err);
    CHECK(o->err.rfind("albertner convert: " + dir + " -> ", 0) == 0);
    CHECK(o->err.find("encoder     vocab 30000, embedding 16 -> hidden 32, 4 heads, ffn 37 (gelu_new)") !=
          std::string::npos);
    CHECK(o->err.find("labels      9: O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,I-MISC") != std::string::npos);
    CHECK(o->err.find("tokenizer   whitespace split + metaspace (hub)") != std::string::npos);
    CHECK(o->err.find("wrote       ") != std::string::npos);
  }
  CHECK(st.err.find("weights     " + dir + "/model.safetensors") != std::string::npos);
  CHECK(bin.err.find("weights     " + dir + "/pytorch_model.bin") != std::string::npos);
  // Same weights, same file.
  const std::string fa = read_text(a), fb = read_text(b);
  CHECK(fa.size() > 1000000);
  CHECK(fa == fb);

  SUBCASE("--labels") {
    const std::string c = scratch() + "/convert-labels.safetensors";
    check_ok({"convert", dir, "-o", c, "--labels", "conll2003"});
    Output o = check_ok({"convert", dir, "-o", c, "--labels", "O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,I-MISC"});
    CHECK(o.err.find("labels      9: O,B-PER") != std::string::npos);
  }
  SUBCASE("errors") {
    check_fails(cli({"convert", scratch() + "/no-such-folder", "-o", scratch() + "/x.safetensors"}), "missing folder");
    check_fails(cli({"convert", dir, "-o", scratch() + "/x.safetensors", "--weights", "nope.bin"}), "missing weights");
    check_fails(cli({"convert", dir, "-o", scratch() + "/x.safetensors", "--labels", "O,B-PER"}), "label count");
    check_fails(cli({"convert", dir}), "no -o");
  }
}

TEST_CASE("cli info: text and --json") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  Output text = check_ok({"info", *model});
  CHECK(text.err.empty());
  CHECK(text.out.rfind(*model + ": albertner model, format version ", 0) == 0);
  for (const char* needle : {"encoder    vocab 30000, embedding 16, hidden 32, heads 4, ffn 37, gelu_new",
                             "loop       12 iterations, 1 group(s) x 1 inner layer(s), 64 positions",
                             "labels     O B-PER I-PER B-ORG I-ORG B-LOC I-LOC B-MISC I-MISC",
                             "tokenizer  whitespace split + metaspace (hub), lowercase yes", "\ntensors\n",
                             "runs as    f32 on ", "albert.embeddings.word_embeddings.weight", "classifier.weight"})
    CHECK_MESSAGE(text.out.find(needle) != std::string::npos, needle);

  Output o = check_ok({"info", *model, "--json"});
  CHECK(lines_of(o.out).size() == 1);
  Json info = parse(o.out);
  REQUIRE(info.is_object());
  CHECK(member(info, "file").as_string() == *model);
  CHECK(int_at(info, "bytes") == static_cast<std::int64_t>(read_text(*model).size()));
  CHECK(int_at(info, "format_version") >= 1);
  const Json& config = member(info, "config");
  CHECK(int_at(config, "vocab_size") == 30000);
  CHECK(int_at(config, "hidden_size") == 32);
  CHECK(int_at(config, "embedding_size") == 16);
  CHECK(int_at(config, "num_hidden_layers") == 12);
  CHECK(int_at(config, "max_position_embeddings") == 64);
  CHECK(member(config, "hidden_act").as_string() == "gelu_new");
  CHECK(member(config, "id2label").size() == 9);
  CHECK(member(member(config, "id2label"), "1").as_string() == "B-PER");
  const Json& tokenizer = member(info, "tokenizer");
  CHECK(member(tokenizer, "do_lower_case").as_bool());
  CHECK(int_at(tokenizer, "model_max_length") == 512);
  const Json& tensors = member(info, "tensors");
  REQUIRE(tensors.is_array());
  CHECK(tensors.size() > 20);
  std::int64_t numel = 0;
  bool found_classifier = false;
  for (const Json& t : tensors.items()) {
    const std::string& name = member(t, "name").as_string();
    CHECK(member(t, "dtype").is_string());
    std::int64_t n = 1;
    for (std::int64_t d : ints_of(member(t, "shape"))) n *= d;
    if (member(t, "dtype").as_string() == "F32") {
      CHECK(int_at(t, "bytes") == 4 * n);
    }
    if (name == "classifier.weight") {
      found_classifier = true;
      CHECK(ints_of(member(t, "shape")) == std::vector<std::int64_t>{9, 32});
    }
    if (name.find("spiece") == std::string::npos) numel += n;
  }
  CHECK(found_classifier);
  CHECK(int_at(info, "parameters") == numel);
  CHECK(member(info, "precision").as_string() == "f32");
  const std::string kernels = member(info, "kernels").as_string();
  CHECK(
      (kernels == "avx512" || kernels == "avx2" || kernels == "portable")); // an f32 model: never the BF16 dot products
  CHECK(text.out.find("runs as    f32 on " + kernels + " kernels") != std::string::npos);

  check_fails(cli({"info", scratch() + "/missing.safetensors"}), "missing model");
  check_fails(cli({"info", albertner_test::shared_path("golden/tiny/model.safetensors")}),
              "HF weights, not a model file");
}

TEST_CASE("cli logits: golden/tiny cases 1 and 4 (padded), file and stdin, --hidden") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  auto expected = albertner::SafeTensors::open(albertner_test::shared_path("golden/tiny/expected.safetensors"));
  REQUIRE_MESSAGE(expected.ok(), (expected.ok() ? "" : expected.error().what()));
  for (int n : {1, 4}) {
    CAPTURE(n);
    const Case c = golden_case(*expected, n);
    if (n == 4) {
      CHECK(c.B == 3);
      std::int64_t pads = 0;
      for (std::int64_t m : c.mask) pads += m == 0;
      CHECK(pads > 0);
    }
    const std::string input = scratch() + "/case" + std::to_string(n) + ".json";
    write_text(input, case_json(c));

    Output from_file = check_ok({"logits", *model, input});
    CHECK(from_file.err.empty());
    Json out = parse(from_file.out);
    CHECK(out.find("last_hidden_state") == nullptr);
    std::vector<double> logits = tensor_of(member(out, "logits"), c.B, c.T, c.labels);
    CHECK(max_error_real(logits, c.logits, c.mask, c.labels) < 1e-4);
    // Argmax labels of real tokens are identical.
    for (std::size_t r = 0; r < c.mask.size(); ++r) {
      if (c.mask[r] != 1) continue;
      const std::size_t L = static_cast<std::size_t>(c.labels);
      const auto g = std::max_element(logits.begin() + static_cast<std::ptrdiff_t>(r * L),
                                      logits.begin() + static_cast<std::ptrdiff_t>((r + 1) * L)) -
                     (logits.begin() + static_cast<std::ptrdiff_t>(r * L));
      const auto w = std::max_element(c.logits.begin() + static_cast<std::ptrdiff_t>(r * L),
                                      c.logits.begin() + static_cast<std::ptrdiff_t>((r + 1) * L)) -
                     (c.logits.begin() + static_cast<std::ptrdiff_t>(r * L));
      CHECK(g == w);
    }

    // stdin ("-" and no INPUT) gives the same bytes.
    CHECK(check_ok({"logits", *model, "-"}, case_json(c)).out == from_file.out);
    CHECK(check_ok({"logits", *model}, case_json(c)).out == from_file.out);

    Output hidden = check_ok({"logits", *model, input, "--hidden"});
    Json h = parse(hidden.out);
    CHECK(max_error_real(tensor_of(member(h, "logits"), c.B, c.T, c.labels), c.logits, c.mask, c.labels) < 1e-4);
    CHECK(max_error_real(tensor_of(member(h, "last_hidden_state"), c.B, c.T, c.hidden_size), c.hidden, c.mask,
                         c.hidden_size) < 1e-4);
  }

  SUBCASE("printed floats round-trip: the output equals the library's own logits bit for bit") {
    const Case c = golden_case(*expected, 4);
    auto m = albertner::Model::open(*model);
    REQUIRE(m.ok());
    auto encoder = albertner::make_encoder(*m);
    REQUIRE(encoder.ok());
    albertner::Encoder::Workspace ws;
    albertner::EncoderInput in;
    in.batch = c.B;
    in.seq_len = c.T;
    in.input_ids = c.ids.data();
    in.attention_mask = c.mask.data();
    in.token_type_ids = c.types.data();
    auto ref = encoder->forward(in, ws);
    REQUIRE(ref.ok());
    std::vector<double> printed =
        tensor_of(member(parse(check_ok({"logits", *model}, case_json(c)).out), "logits"), c.B, c.T, c.labels);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < printed.size(); ++i) differ += static_cast<float>(printed[i]) != ref->logits[i];
    CHECK(differ == 0);
  }

  SUBCASE("mask and token types are optional") {
    const Case c = golden_case(*expected, 1); // one row, no padding: the mask is all ones
    Output o = check_ok({"logits", *model}, case_json(c, false, true));
    CHECK(max_error_real(tensor_of(member(parse(o.out), "logits"), c.B, c.T, c.labels), c.logits, c.mask, c.labels) <
          1e-4);
    bool all_zero_types = true;
    for (std::int64_t t : c.types) all_zero_types = all_zero_types && t == 0;
    if (all_zero_types) {
      o = check_ok({"logits", *model}, case_json(c, false, false));
      CHECK(max_error_real(tensor_of(member(parse(o.out), "logits"), c.B, c.T, c.labels), c.logits, c.mask, c.labels) <
            1e-4);
    }
  }
}

TEST_CASE("cli logits: errors") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  std::string long_row = "[2";
  for (int i = 0; i < 64; ++i) long_row += ",5";
  long_row += "]";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not JSON", "hello\n"},
      {"empty input", ""},
      {"trailing garbage", "{\"input_ids\": [[2, 3]]} x"},
      {"not an object", "[[2, 3]]"},
      {"no input_ids", "{\"attention_mask\": [[1, 1]]}"},
      {"empty batch", "{\"input_ids\": []}"},
      {"ragged rows", "{\"input_ids\": [[2, 10, 3], [2, 3]]}"},
      {"not an integer", "{\"input_ids\": [[2, 1.5, 3]]}"},
      {"string id", "{\"input_ids\": [[2, \"10\", 3]]}"},
      {"id out of range", "{\"input_ids\": [[2, 30000, 3]]}"},
      {"negative id", "{\"input_ids\": [[2, -1, 3]]}"},
      {"T > 64 positions", "{\"input_ids\": [" + long_row + "]}"},
      {"empty rows", "{\"input_ids\": [[]]}"},
      {"mask shape mismatch", "{\"input_ids\": [[2, 10, 3]], \"attention_mask\": [[1, 1]]}"},
      {"mask batch mismatch", "{\"input_ids\": [[2, 10, 3]], \"attention_mask\": [[1, 1, 1], [1, 1, 1]]}"},
      {"types shape mismatch", "{\"input_ids\": [[2, 10, 3]], \"token_type_ids\": [[0, 0, 0, 0]]}"},
      {"mask value 2", "{\"input_ids\": [[2, 10, 3]], \"attention_mask\": [[1, 2, 1]]}"},
      {"token type 2", "{\"input_ids\": [[2, 10, 3]], \"token_type_ids\": [[0, 2, 0]]}"},
  };
  for (const auto& b : bad) check_fails(cli({"logits", *model}, b.second), b.first);
  check_fails(cli({"logits", *model, scratch() + "/missing.json"}), "missing input file");
  check_fails(cli({"logits", scratch() + "/missing.safetensors"}, std::string("{\"input_ids\": [[2, 3]]}")),
              "missing model");
  // The largest valid input still works.
  std::string row64 = "[2";
  for (int i = 0; i < 62; ++i) row64 += ",5";
  row64 += ",3]";
  check_ok({"logits", *model}, "{\"input_ids\": [" + row64 + "]}");

  // A model file whose classifier bias holds NaN (a converter refuses it; a file made elsewhere
  // may hold it): JSON has no NaN, so the command fails rather than print "nan".
  std::string bytes;
  {
    auto st = albertner::SafeTensors::open(*model);
    REQUIRE(st.ok());
    const albertner::TensorView* bias = st->find("classifier.bias");
    REQUIRE(bias);
    FILE* f = std::fopen(model->c_str(), "rb");
    REQUIRE(f);
    bytes.resize(static_cast<std::size_t>(std::filesystem::file_size(*model)));
    CHECK(std::fread(&bytes[0], 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
    // The data section follows the 8-byte header length and the header; with no holes allowed,
    // its first byte is the lowest tensor address.
    std::uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = header << 8 | static_cast<unsigned char>(bytes[std::size_t(i)]);
    const std::uint8_t* first = bias->data;
    for (const albertner::TensorView& t : st->tensors()) first = std::min(first, t.data);
    const float nan = std::nanf("");
    std::memcpy(&bytes[8 + header + static_cast<std::size_t>(bias->data - first)], &nan, sizeof nan);
  }
  const std::string poisoned = scratch() + "/nan-bias.safetensors";
  FILE* f = std::fopen(poisoned.c_str(), "wb");
  REQUIRE(f);
  CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
  Output o = cli({"logits", poisoned}, "{\"input_ids\": [[2, 10, 3]]}");
  check_fails(o, "NaN weights");
  CHECK(o.err.find("logits at batch row 0, position 0, column 0 is not finite") != std::string::npos);
}

TEST_CASE("cli bench: one JSON line per length, in ort.mjs's key order; lengths past the model's limit fail") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  Output o = check_ok({"bench", *model, "--lens", "8,16", "--runs", "3", "--warmup", "1"});
  const std::vector<std::string> lines = lines_of(o.out);
  REQUIRE(lines.size() == 2);
  const std::int64_t seqs[] = {8, 16};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    const Json j = parse(lines[i]);
    REQUIRE(j.is_object());
    std::vector<std::string> got;
    for (const auto& m : j.members()) got.push_back(m.first);
    CHECK(got ==
          std::vector<std::string>{"engine", "threads", "batch", "seq", "runs", "median_ms", "min_ms", "max_ms"});
    CHECK(member(j, "engine").as_string() == "albertner");
    CHECK(int_at(j, "threads") == 1);
    CHECK(int_at(j, "batch") == 1);
    CHECK(int_at(j, "seq") == seqs[i]);
    CHECK(int_at(j, "runs") == 3);
    const double median = member(j, "median_ms").as_double(), min = member(j, "min_ms").as_double(),
                 max = member(j, "max_ms").as_double();
    CHECK(min > 0);
    CHECK(min <= median);
    CHECK(median <= max);
  }
  Output bad = cli({"bench", *model, "--lens", "8,100000", "--runs", "1"});
  check_fails(bad, "length past max_position_embeddings");
  CHECK(bad.err.find("100000") != std::string::npos);
  check_fails(cli({"bench", *model, "--threads", "0"}), "no threads");
  check_fails(cli({"bench", scratch() + "/missing.safetensors"}), "missing model");
}

TEST_CASE("cli tokenize: golden/tokenizer text cases, as JSON lines and as arguments") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model || !albertner_test::have_shared("golden/tokenizer")) return;
  // 30 CoNLL sentences and every fifth of the 150 tricky strings (the last 150 lines).
  const std::vector<std::string> all =
      lines_of(read_text(albertner_test::shared_path("golden/tokenizer/cases_text.jsonl")));
  REQUIRE(all.size() >= 3400);
  std::vector<Json> cases;
  for (std::size_t i = 0; i < 30; ++i) cases.push_back(parse(all[i]));
  for (std::size_t i = all.size() - 150; i < all.size(); i += 5) cases.push_back(parse(all[i]));

  std::string input;
  for (const Json& c : cases) input += "{\"text\": " + json_string(member(c, "text").as_string()) + "}\n";
  input += "\n   \n"; // blank lines are skipped
  Output o = check_ok({"tokenize", *model, "--input-format", "jsonl"}, input);
  CHECK(o.err.empty());
  const std::vector<std::string> lines = lines_of(o.out);
  REQUIRE(lines.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Json& want = cases[i];
    CAPTURE(member(want, "id").as_string());
    Json got = parse(lines[i]);
    CHECK(ints_of(member(got, "input_ids")) == ints_of(member(want, "input_ids")));
    CHECK(strings_of(member(got, "tokens")) == strings_of(member(want, "tokens")));
    CHECK(pairs_of(member(got, "offsets")) == pairs_of(member(want, "offsets_cp")));
    CHECK(pairs_of(member(got, "byte_offsets")) == pairs_of(member(want, "offsets_bytes")));
    CHECK(got.find("word_ids") == nullptr);
  }

  // The same texts as arguments (after "--", so that a text may start with "-") give the same lines.
  std::vector<std::string> args = {"tokenize", *model, "--"};
  std::string want_out;
  for (std::size_t i = 0; i < 30; ++i) {
    args.push_back(member(cases[i], "text").as_string());
    want_out += lines[i] + "\n";
  }
  CHECK(check_ok(args).out == want_out);
  // An argument that is the empty string is a text too.
  Json empty = parse(check_ok({"tokenize", *model, ""}).out);
  CHECK(ints_of(member(empty, "input_ids")) == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("cli tokenize: golden/tokenizer word lists") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model || !albertner_test::have_shared("golden/tokenizer")) return;
  const std::vector<std::string> all =
      lines_of(read_text(albertner_test::shared_path("golden/tokenizer/cases_words.jsonl")));
  REQUIRE(all.size() >= 3250);
  std::vector<Json> cases;
  for (std::size_t i = 0; i < all.size() && cases.size() < 50; i += 60) cases.push_back(parse(all[i]));
  std::string input;
  for (const Json& c : cases) {
    input += "{\"words\": [";
    const std::vector<std::string> words = strings_of(member(c, "words"));
    for (std::size_t w = 0; w < words.size(); ++w) input += (w ? ", " : "") + json_string(words[w]);
    input += "]}\n";
  }
  Output o = check_ok({"tokenize", *model, "--input-format", "jsonl"}, input);
  const std::vector<std::string> lines = lines_of(o.out);
  REQUIRE(lines.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Json& want = cases[i];
    CAPTURE(member(want, "id").as_string());
    Json got = parse(lines[i]);
    CHECK(ints_of(member(got, "input_ids")) == ints_of(member(want, "input_ids")));
    CHECK(strings_of(member(got, "tokens")) == strings_of(member(want, "tokens")));
    const std::vector<std::int64_t> ids = word_ids_of(member(got, "word_ids"));
    CHECK(ids == word_ids_of(member(want, "word_ids")));
    REQUIRE(ids.size() >= 2);
    CHECK(ids.front() == -1); // null for [CLS] and [SEP]
    CHECK(ids.back() == -1);
    // Offsets are within each word.
    const std::vector<std::string> words = strings_of(member(want, "words"));
    const std::vector<std::int64_t> bytes = pairs_of(member(got, "byte_offsets"));
    for (std::size_t k = 0; k < ids.size(); ++k)
      if (ids[k] >= 0) {
        CHECK(bytes[2 * k + 1] <= static_cast<std::int64_t>(words[static_cast<std::size_t>(ids[k])].size()));
      }
  }
}

TEST_CASE("cli tokenize: errors") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  check_fails(cli({"tokenize", *model, "bad \xff utf-8"}), "invalid UTF-8 argument");
  // The records before a bad line are written; the error names its 1-based line.
  for (const std::string& second : {std::string("not json"), std::string("[1, 2]")}) {
    Output o = cli({"tokenize", *model, "--input-format", "jsonl"}, "{\"text\": \"ok\"}\n" + second + "\n");
    CHECK(o.status == 1);
    CHECK(lines_of(o.out).size() == 1);
    CHECK(o.err.find("stdin line 2: ") != std::string::npos);
  }
  check_fails(cli({"tokenize", *model, "--input-format", "jsonl"}, std::string("{\"txt\": \"ok\"}\n")),
              "no text or words");
  check_fails(cli({"tokenize", *model, "--input-format", "jsonl"}, std::string("{\"text\": 5}\n")),
              "text not a string");
  check_fails(cli({"tokenize", *model, "--input-format", "jsonl"}, std::string("{\"words\": [\"a\", 1]}\n")),
              "words not strings");
  check_fails(cli({"tokenize", *model, "--input-format", "jsonl"}, std::string("{\"text\": \"bad \xff\"}\n")),
              "invalid UTF-8 in JSON");
  check_fails(cli({"tokenize", scratch() + "/missing.safetensors", "x"}), "missing model");
}

TEST_CASE("cli tag: json, all aggregations") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  for (const std::string& aggregation : kAggregations) {
    CAPTURE(aggregation);
    Output o = check_ok({"tag", *model, "--aggregation", aggregation, kSentence});
    CHECK(o.err.empty());
    Json list = parse(o.out);
    REQUIRE(list.is_array()); // one text → a list of entities
    CHECK(list.size() > 0);   // random weights tag most tokens
    std::size_t last_end = 0;
    for (const Json& e : list.items()) {
      REQUIRE(e.is_object());
      const bool none = aggregation == "none";
      CHECK(member(e, none ? "entity" : "entity_group").is_string());
      CHECK(e.find(none ? "entity_group" : "entity") == nullptr);
      CHECK((e.find("index") != nullptr) == none);
      if (none) {
        CHECK(int_at(e, "index") >= 1);
      }
      const double score = member(e, "score").as_double();
      CHECK(score > 0);
      CHECK(score <= 1);
      CHECK(member(e, "word").is_string());
      const std::int64_t start = int_at(e, "start"), end = int_at(e, "end");
      const std::int64_t bs = int_at(e, "byte_start"), be = int_at(e, "byte_end");
      CHECK(start <= end);
      CHECK(bs == start); // ASCII text
      CHECK(be == end);
      CHECK(member(e, "text").as_string() ==
            kSentence.substr(static_cast<std::size_t>(bs), static_cast<std::size_t>(be - bs)));
      if (!none) {
        CHECK(static_cast<std::size_t>(start) >= last_end);
      }
      last_end = static_cast<std::size_t>(end);
    }
  }
  // Several texts → one list per text, one per line, in order (the same shape as for one text);
  // offsets in code points and bytes.
  const std::string accented = "Zoë Saldaña visited São Paulo.";
  const std::string several = check_ok({"tag", *model, kSentence, accented, ""}).out;
  const std::vector<std::string> several_lines = lines_of(several);
  REQUIRE(several_lines.size() == 3);
  std::vector<Json> lists;
  for (const std::string& line : several_lines) lists.push_back(parse(line));
  for (const Json& l : lists) CHECK(l.is_array());
  CHECK(lists[2].size() == 0); // "" has no entities
  CHECK(lists[0].dump() == parse(check_ok({"tag", *model, kSentence}).out).dump());
  bool some_differ = false;
  for (const Json& e : lists[1].items()) {
    const std::size_t bs = static_cast<std::size_t>(int_at(e, "byte_start")),
                      be = static_cast<std::size_t>(int_at(e, "byte_end"));
    CHECK(member(e, "text").as_string() == accented.substr(bs, be - bs));
    some_differ = some_differ || int_at(e, "start") != int_at(e, "byte_start");
  }
  CHECK(some_differ);
  // Stdin: one text per line (an empty line is an empty text), the same records.
  Output in = check_ok({"tag", *model}, kSentence + "\n" + accented + "\n\n");
  CHECK(in.out == several);
  Output one = check_ok({"tag", *model}, kSentence + "\n");
  CHECK(one.out == check_ok({"tag", *model, kSentence}).out);
  CHECK(check_ok({"tag", *model}, std::string()).out.empty()); // no lines, no records
  // A model file under any name is the model, not text; a missing .safetensors name is an error.
  const std::string renamed = scratch() + "/tiny-model.bin";
  std::filesystem::copy_file(*model, renamed, std::filesystem::copy_options::overwrite_existing);
  CHECK(parse(check_ok({"tag", renamed, kSentence}).out).dump() ==
        parse(check_ok({"tag", *model, kSentence}).out).dump());
  check_fails(cli({"tag", scratch() + "/missing.safetensors", kSentence}), "missing model");
}

TEST_CASE("cli tag: against Hugging Face's pipeline (golden/pipeline on golden/base), every aggregation") {
  if (!have_binary() || !albertner_test::have_shared("golden/pipeline")) return;
  const std::string* model = converted("base");
  if (!model) return;
  std::vector<Json> cases;
  for (const std::string& line : lines_of(read_text(albertner_test::shared_path("golden/pipeline/cases.jsonl")))) {
    if (line.empty()) continue;
    Json c = parse(line);
    if (!member(c, "truncated").as_bool()) cases.push_back(std::move(c)); // the CLI windows, the pipeline truncates
  }
  REQUIRE(cases.size() >= 50);
  if (std::getenv("ALBERTNER_SANITIZER_RUN")) {
    MESSAGE("ALBERTNER_SANITIZER_RUN: 8 of the " << cases.size() << " texts");
    cases.resize(8);
  }
  std::string input;
  for (const Json& c : cases) input += "{\"text\": " + json_string(member(c, "text").as_string()) + "}\n";
  for (const std::string& aggregation : kAggregations) {
    CAPTURE(aggregation);
    const char* key = aggregation == "none" ? "entity" : "entity_group";
    const std::vector<std::string> lines = lines_of(check_ok({"tag", *model, "--input-format", "jsonl", "--format",
                                                              "jsonl", "--aggregation", aggregation, "--threads", "2"},
                                                             input)
                                                        .out);
    REQUIRE(lines.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(member(cases[i], "id").as_string());
      Json got = parse(lines[i]);
      CHECK(member(got, "text").as_string() == member(cases[i], "text").as_string());
      const Json& want = member(member(cases[i], "entities"), aggregation.c_str()); // null: HF raised; we give []
      const Json& ents = member(got, "entities");
      REQUIRE(ents.size() == (want.is_null() ? 0 : want.size()));
      for (std::size_t k = 0; k < ents.size(); ++k) {
        const Json& g = ents.items()[k];
        const Json& w = want.items()[k];
        CHECK(member(g, key).as_string() == member(w, key).as_string());
        CHECK(member(g, "word").as_string() == member(w, "word").as_string());
        CHECK(int_at(g, "start") == int_at(w, "start"));
        CHECK(int_at(g, "end") == int_at(w, "end"));
        CHECK(int_at(g, "byte_start") == int_at(w, "start_bytes"));
        CHECK(int_at(g, "byte_end") == int_at(w, "end_bytes"));
        CHECK(std::fabs(member(g, "score").as_double() - member(w, "score").as_double()) < 1e-4);
        if (aggregation == "none") {
          CHECK(int_at(g, "index") == int_at(w, "index"));
        }
      }
    }
  }
}

TEST_CASE("cli tag: jsonl, conll, pretty, html") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string second = "Tom & <Jerry> met \"Ann\" in Zürich.";

  SUBCASE("jsonl: arguments, and JSON lines on stdin") {
    Output o = check_ok({"tag", *model, "--format", "jsonl", kSentence, second});
    const std::vector<std::string> lines = lines_of(o.out);
    REQUIRE(lines.size() == 2);
    Json first = parse(lines[0]);
    CHECK(member(first, "text").as_string() == kSentence);
    check_same_entities(member(first, "entities"), parse(check_ok({"tag", *model, kSentence}).out));
    CHECK(member(parse(lines[1]), "text").as_string() == second);
    // --input-format jsonl: stdin holds {"text": ...} lines (blank lines skipped); a text may hold a newline.
    const std::string multi = "line one\nline two";
    Output in = check_ok({"tag", *model, "--input-format", "jsonl", "--format", "jsonl"},
                         "{\"text\": " + json_string(kSentence) + "}\n\n{\"text\": " + json_string(second) +
                             "}\n{\"text\": " + json_string(multi) + "}\n");
    const std::vector<std::string> in_lines = lines_of(in.out);
    REQUIRE(in_lines.size() == 3);
    CHECK(in_lines[0] == lines[0]);
    CHECK(in_lines[1] == lines[1]);
    CHECK(member(parse(in_lines[2]), "text").as_string() == multi);
    check_fails(cli({"tag", *model, "--input-format", "jsonl"}, std::string("plain text\n{\"text\": \"ok\"}\n")),
                "jsonl: not JSON");
    check_fails(cli({"tag", *model, "--input-format", "jsonl"}, std::string("{\"words\": [\"a\"]}\n")),
                "jsonl: no text");
    // Text lines in, JSON lines out: the input format is its own flag.
    Output text_in = check_ok({"tag", *model, "--format", "jsonl"}, kSentence + "\n" + second + "\n");
    CHECK(text_in.out == o.out);
  }
  SUBCASE("conll: one line per word with its first piece's label, O included; a blank line after each text") {
    Output o = check_ok({"tag", *model, "--format", "conll", kSentence, "Paris"});
    const std::vector<std::string> lines = lines_of(o.out);
    // George Washington went to Washington. → 5 words, blank, Paris → 1 word, blank
    REQUIRE(lines.size() == 8);
    const std::vector<std::string> words = {"George", "Washington", "went", "to", "Washington.", "", "Paris", ""};
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CAPTURE(lines[i]);
      CHECK(lines[i].substr(0, lines[i].find('\t')) == words[i]);
    }
    const std::vector<std::string> labels = {"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                             "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
    for (const std::string& line : lines) {
      if (line.empty()) continue;
      const std::string label = line.substr(line.find('\t') + 1);
      CHECK(std::find(labels.begin(), labels.end(), label) != labels.end());
    }
    // Each word's label is the "none" label of its first piece (O when the piece is O).
    Json none = parse(check_ok({"tag", *model, "--aggregation", "none", kSentence}).out);
    const std::size_t word_starts[] = {0, 7, 18, 23, 26};
    for (std::size_t w = 0; w < 5; ++w) {
      std::string want = "O";
      for (const Json& e : none.items())
        if (static_cast<std::size_t>(int_at(e, "byte_start")) <= word_starts[w] &&
            static_cast<std::size_t>(int_at(e, "byte_end")) > word_starts[w]) {
          want = member(e, "entity").as_string();
          break;
        }
      CAPTURE(w);
      CHECK(lines[w] == words[w] + "\t" + want);
    }
    // Aggregation does not apply: asking for one is a usage error that says so.
    Output agg = cli({"tag", *model, "--format", "conll", "--aggregation", "first", kSentence});
    check_fails(agg, "conll with --aggregation");
    CHECK(agg.status == 2);
    CHECK(agg.err.find("does not apply to --format conll") != std::string::npos);
  }
  SUBCASE("pretty: the text with coloured entities (--color always); plain brackets into a file") {
    Output o = check_ok({"tag", *model, "--format", "pretty", "--color", "always", kSentence, second});
    REQUIRE(lines_of(o.out).size() == 2);
    CHECK(o.out.find("\x1b[") != std::string::npos);
    CHECK(o.out.find("went") != std::string::npos);
    std::string plain; // without escapes and [TYPE] tags the text is unchanged
    for (std::size_t i = 0; i < o.out.size();) {
      if (o.out[i] == '\x1b') {
        const std::size_t m = o.out.find('m', i);
        const bool tag = o.out.compare(m + 1, 1, "[") == 0 && o.out.compare(i, 4, "\x1b[2m") == 0;
        i = tag ? o.out.find(']', m) + 1 : m + 1;
        continue;
      }
      plain += o.out[i++];
    }
    CHECK(plain == kSentence + "\n" + second + "\n");
    // Not a terminal (auto) or never: no escapes; entities as [text](TYPE).
    for (const char* color : {"auto", "never"}) {
      Output p = check_ok({"tag", *model, "--format", "pretty", "--color", color, kSentence});
      CHECK(p.out.find('\x1b') == std::string::npos);
      CHECK(p.out.find("](") != std::string::npos);
    }
  }
  SUBCASE("html: a page of marks, text escaped, every character shown with its entity's label") {
    // "Αθήνα" is a lone "▁" token and an <unk> piece with the same span: entities can overlap.
    const std::vector<std::string> texts = {kSentence, second, "CRICKET - LEICESTERSHIRE in Αθήνα and 東京."};
    for (const std::string& aggregation : kAggregations) {
      CAPTURE(aggregation);
      std::vector<std::string> args = {"tag", *model, "--format", "html", "--aggregation", aggregation};
      args.insert(args.end(), texts.begin(), texts.end());
      const std::string html = check_ok(args).out;
      CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
      CHECK(html.find("<meta charset=\"utf-8\">") != std::string::npos);
      CHECK(html.find("</body></html>") != std::string::npos);
      auto count = [&html](const std::string& needle) {
        std::size_t n = 0;
        for (std::size_t p = html.find(needle); p != std::string::npos; p = html.find(needle, p + 1)) ++n;
        return n;
      };
      CHECK(count("<mark class=\"entity\" data-label=\"") + count("<mark class=\"legend\" data-label=\"") ==
            count("</mark>"));
      CHECK(count("<mark class=\"entity\" data-label=\"") > 0);
      CHECK(count("<p class=\"doc\" dir=\"") == texts.size());
      // Each entity isolated for bidi, and a legend of the types on the page.
      CHECK(count("<bdi>") == count("<mark class=\"entity\" data-label=\""));
      CHECK(html.find("<footer class=\"legend\">Legend:") != std::string::npos);
      CHECK(html.find("<mark class=\"legend\" data-label=\"") != std::string::npos);
      // The user's text is escaped: no raw <Jerry>, no bare &.
      CHECK(html.find("<Jerry>") == std::string::npos);
      CHECK(html.find(" & ") == std::string::npos);
      args[3] = "json";
      std::vector<Json> lists;
      for (const std::string& line : lines_of(check_ok(args).out)) lists.push_back(parse(line));
      REQUIRE(lists.size() == texts.size());
      const std::vector<HtmlDoc> docs = html_docs(html);
      REQUIRE(docs.size() == texts.size());
      for (std::size_t i = 0; i < texts.size(); ++i) {
        CAPTURE(i);
        CHECK(docs[i].text == texts[i]);
        CHECK(docs[i].labels == byte_labels(texts[i], lists[i]));
      }
    }
    // Each document in the direction of its first strong character (dir="auto" would skip the <bdi>s).
    const std::string page = check_ok({"tag", *model, "--format", "html", "باريس Paris", "Paris باريس", "42 ."}).out;
    const std::size_t rtl = page.find("<p class=\"doc\" dir=\"rtl\">"),
                      ltr = page.find("<p class=\"doc\" dir=\"ltr\">"),
                      neutral = page.find("<p class=\"doc\" dir=\"auto\">");
    REQUIRE(rtl != std::string::npos);
    REQUIRE(ltr != std::string::npos);
    REQUIRE(neutral != std::string::npos);
    CHECK(rtl < ltr);
    CHECK(ltr < neutral);
  }
}

TEST_CASE("cli tag: long texts are windowed; errors and usage") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  // golden/tiny has 64 positions; 300 words need several windows (default overlap shrinks to fit).
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += (i ? " " : "") + std::string(i % 3 ? "London" : "Paris");
  Json e = parse(check_ok({"tag", *model, "--aggregation", "none", long_text}).out);
  REQUIRE(e.is_array());
  std::int64_t last_index = 0;
  for (const Json& x : e.items()) {
    CHECK(int_at(x, "end") <= static_cast<std::int64_t>(long_text.size()));
    last_index = std::max(last_index, int_at(x, "index"));
  }
  CHECK(last_index > 62); // entities past the first window
  check_ok({"tag", *model, "--window", "16", "--overlap", "4", long_text});
  check_ok({"tag", *model, "--window", "16", long_text});
  check_ok({"tag", *model, "--threads", "2", "--batch", "3", long_text, kSentence});

  check_fails(cli({"tag", *model, "bad \xff utf-8"}), "invalid UTF-8 argument");
  // A bad line stops the run after the records before it (exit 1), naming its 1-based line.
  {
    Output o = cli({"tag", *model}, std::string("fine\nbad \xc3\nlater\n"));
    CHECK(o.status == 1);
    CHECK(lines_of(o.out).size() == 1);
    CHECK(o.err.rfind("albertner: error: stdin line 2: text is not valid UTF-8", 0) == 0);
    CHECK(o.err.find('\n') == o.err.size() - 1);
  }
  check_fails(cli({"tag", *model, "--format", "html", "bad \xff", "ok"}), "invalid UTF-8, html");
  check_fails(cli({"tag", *model, "--overlap", "100", "x"}), "overlap larger than the window");
  check_fails(cli({"tag", *model, "--window", "65", "x"}), "window beyond the model's positions");
  // Numbers are range-checked when parsed: a usage error (exit 2) naming the flag.
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--batch", "0"},
                                              {"--batch", "-1"},
                                              {"--threads", "0"},
                                              {"--threads", "-1"},
                                              {"--threads", "100000"},
                                              {"--threads", "18446744073709551615"},
                                              {"--window", "-1"},
                                              {"--window", "0"},
                                              {"--overlap", "-1"},
                                              {"--batch", "many"}}) {
    std::vector<std::string> args = {"tag", *model};
    args.insert(args.end(), bad.begin(), bad.end());
    args.push_back("x");
    Output o = cli(args);
    check_fails(o, joined(args));
    CHECK(o.status == 2);
    CHECK(o.err.find(bad[0]) != std::string::npos);
  }
  check_fails(cli({"tag", scratch() + "/missing.safetensors", "x"}), "missing model");

  // A failed write to stdout is an error, not success.
  struct stat st;
  if (::stat("/dev/full", &st) == 0) {
    const std::string err = scratch() + "/full.err";
    const int rc = std::system((quote(binary()) + " tag " + quote(*model) + " x > /dev/full 2> " + quote(err)).c_str());
    CHECK((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) != 0));
    CHECK(read_text(err).rfind("albertner: error: io: cannot write to standard output", 0) == 0);
  }

  // Without a model argument, the texts go to $ALBERTNER_MODEL (else the bundled model).
  {
    const std::string env_err = scratch() + "/env.err", env_out = scratch() + "/env.out";
    const int rc =
        std::system(("ALBERTNER_MODEL=" + quote(*model) + " " + quote(binary()) +
                     " tag 'George Washington went to Washington.' > " + quote(env_out) + " 2> " + quote(env_err))
                        .c_str());
    CHECK((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
    CHECK(read_text(env_out) == cli({"tag", *model, "George Washington went to Washington."}).out);
    const std::string missing = std::system(("ALBERTNER_MODEL=/nonexistent.safetensors " + quote(binary()) +
                                             " tag x > " + quote(env_out) + " 2> " + quote(env_err))
                                                .c_str()) != 0
                                    ? read_text(env_err)
                                    : std::string();
    CHECK(missing.rfind("albertner: error: io: /nonexistent.safetensors", 0) == 0);
    CHECK(read_text(env_out).empty());
  }

  // Usage errors: CLI11 rejects them before anything runs.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"tag", *model, "--aggregation", "longest", "x"},
        std::vector<std::string>{"tag", *model, "--format", "xml", "x"}, std::vector<std::string>{"frobnicate"}}) {
    Output o = cli(args);
    INFO(joined(args) << "\nstderr: " << o.err);
    CHECK(o.status != 0);
    CHECK(o.out.empty());
    CHECK(o.err.rfind("albertner: error:", 0) == 0);
  }
}

TEST_CASE("examples/tag.cpp (README's API taste) prints the entities the CLI finds") {
  const std::string example = std::string(ALBERTNER_BINARY_DIR) + "/examples/albertner_example_tag";
  struct stat st;
  if (::stat(example.c_str(), &st) != 0) {
    MESSAGE("skipped: " << example << " not found (built with the top-level project)");
    return;
  }
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string out = scratch() + "/example.out", err = scratch() + "/example.err";
  int rc = std::system((quote(example) + " " + quote(*model) + " " + quote(kSentence) + " > " + quote(out)).c_str());
  REQUIRE((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
  std::string want;
  const Json entities = parse(check_ok({"tag", *model, kSentence}).out);
  for (const Json& e : entities.items()) {
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %.3f [%lld, %lld) %s\n", member(e, "entity_group").as_string().c_str(),
                  member(e, "score").as_double(), static_cast<long long>(int_at(e, "start")),
                  static_cast<long long>(int_at(e, "end")), member(e, "text").as_string().c_str());
    want += line;
  }
  CHECK(read_text(out) == want);
  rc = std::system(
      (quote(example) + " " + quote(scratch() + "/missing.safetensors") + " x > " + quote(out) + " 2> " + quote(err))
          .c_str());
  CHECK((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 1));
  CHECK(read_text(err).rfind("error: io: ", 0) == 0);
}

namespace {
// The number after the line start `label` in docs/model-card.md, or -1.
double model_card_number(const std::string& label) {
  const std::string card = read_text(std::string(ALBERTNER_SOURCE_DIR) + "/docs/model-card.md");
  const std::string key = "\n" + label;
  const std::size_t at = card.find(key);
  return at == std::string::npos ? -1 : std::atof(card.c_str() + at + key.size());
}
// The bundled model's fp32 test F1 gate.
double model_card_gate() { return model_card_number("CoNLL-2003 test F1 (gate):"); }
} // namespace

TEST_CASE(
    "cli eval: bundled model, CoNLL-2003 test F1 equals the model card's to 4 decimals (the gate); "
    "--json, --predictions and --scored agree") {
  if (!have_binary()) return;
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const double gate = model_card_gate();
  REQUIRE_MESSAGE(gate > 0, "docs/model-card.md lacks the line 'CoNLL-2003 test F1 (gate): 0.xxxx'");
  const std::string model = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  const std::string data = albertner_test::shared_path("data/conll2003/test.txt");
  const std::string predictions = scratch() + "/conll-test.pred";

  const Json scores =
      parse(check_ok({"eval", model, "--data", data, "--json", "--predictions", predictions, "--threads", "2"}).out);
  std::vector<std::string> keys;
  for (const auto& m : scores.members()) keys.push_back(m.first);
  CHECK(keys == std::vector<std::string>{"precision", "recall", "f1", "accuracy", "per_type"});
  const double f1 = member(scores, "f1").as_double();
  MESSAGE("albertner eval, bundled model on CoNLL-2003 test: P "
          << member(scores, "precision").as_double() << " R " << member(scores, "recall").as_double() << " F1 " << f1
          << " accuracy " << member(scores, "accuracy").as_double());
  CHECK(std::fabs(std::round(f1 * 1e4) / 1e4 - gate) < 1e-9);
  std::int64_t support = 0;
  for (const char* type : {"LOC", "MISC", "ORG", "PER"}) {
    CAPTURE(type);
    const Json& t = member(member(scores, "per_type"), type);
    for (const char* key : {"precision", "recall", "f1"})
      CHECK((member(t, key).as_double() >= 0 && member(t, key).as_double() <= 1));
    support += int_at(t, "support");
  }
  CHECK(support == 5648); // CoNLL-2003 test's entities

  // The prediction file scored alone gives the same numbers, and conlleval's table agrees.
  CHECK(parse(check_ok({"eval", "--scored", predictions, "--json"}).out).dump() == scores.dump());
  char fb1[64];
  std::snprintf(fb1, sizeof fb1, "FB1: %8.4f", 100 * f1);
  CHECK(check_ok({"eval", "--scored", predictions}).out.find(fb1) != std::string::npos);
}

TEST_CASE(
    "cli eval --constrained: every predicted sentence is valid IOB2, and the bundled model's test F1 equals "
    "the model card's constrained gate") {
  if (!have_binary()) return;
  const Output scored = cli({"eval", "--scored", "x.txt", "--constrained"});
  CHECK(scored.status == 2);
  CHECK(scored.err.find("--constrained needs a model run") != std::string::npos);
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const double gate = model_card_number("CoNLL-2003 test F1, --constrained (gate):");
  REQUIRE_MESSAGE(gate > 0, "docs/model-card.md lacks the line 'CoNLL-2003 test F1, --constrained (gate): 0.xxxx'");
  const std::string model = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  const std::string data = albertner_test::shared_path("data/conll2003/test.txt");
  const std::string predictions = scratch() + "/conll-test-constrained.pred";
  const Json scores = parse(check_ok({"eval", model, "--data", data, "--json", "--constrained", "--predictions",
                                      predictions, "--threads", "2"})
                                .out);
  const double f1 = member(scores, "f1").as_double();
  MESSAGE("albertner eval --constrained, bundled model on CoNLL-2003 test: F1 " << f1);
  CHECK(std::fabs(std::round(f1 * 1e4) / 1e4 - gate) < 1e-9);

  // WORD GOLD PREDICTED lines: an I-X prediction only ever follows B-X or I-X in its sentence.
  const std::string text = read_text(predictions);
  std::string previous = "O";
  std::size_t words = 0, invalid = 0, begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty()) {
      previous = "O";
      continue;
    }
    const std::string label = line.substr(line.rfind(' ') + 1);
    ++words;
    if (label.rfind("I-", 0) == 0) {
      const bool continues = previous.size() > 2 &&
                             (previous.rfind("B-", 0) == 0 || previous.rfind("I-", 0) == 0) &&
                             previous.substr(2) == label.substr(2);
      if (!continues) ++invalid;
    }
    previous = label;
  }
  CHECK(words > 40000);
  CHECK(invalid == 0);
}

TEST_CASE(
    "cli convert --dtype bf16: the bundled model's CoNLL-2003 test F1 equals fp32's within 0.3 points; "
    "info says bf16; back to f32 exactly; int8 is refused") {
  if (!have_binary()) return;
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const double gate = model_card_gate();
  REQUIRE(gate > 0);
  const std::string model = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  const std::string bf16 = scratch() + "/bundled-bf16.safetensors", back = scratch() + "/bundled-f32.safetensors";
  const std::string data = albertner_test::shared_path("data/conll2003/test.txt");

  const Output converted = check_ok({"convert", model, "-o", bf16, "--dtype", "bf16"});
  CHECK((converted.out + converted.err).find("matrices BF16") != std::string::npos);
  const Json info = parse(check_ok({"info", bf16, "--json"}).out);
  CHECK(member(info, "precision").as_string() == "bf16");
  CHECK(check_ok({"info", bf16}).out.find("runs as    bf16 on " + member(info, "kernels").as_string() + " kernels") !=
        std::string::npos);

  const Json scores = parse(check_ok({"eval", bf16, "--data", data, "--json", "--threads", "2"}).out);
  const double f1 = member(scores, "f1").as_double();
  MESSAGE("albertner eval, bundled model as bf16 (" << member(info, "kernels").as_string()
                                                    << " kernels) on CoNLL-2003 test: F1 " << f1 << " (fp32 " << gate
                                                    << ")");
  CHECK(std::fabs(f1 - gate) <= 0.003);

  // And back: f32 again, twice the matrix bytes (the values are bf16's; test_converted_model
  // checks them one by one).
  check_ok({"convert", bf16, "-o", back, "--dtype", "f32"});
  const Json widened = parse(check_ok({"info", back, "--json"}).out);
  CHECK(member(widened, "precision").as_string() == "f32");
  CHECK(int_at(widened, "parameters") == int_at(info, "parameters"));

  check_fails(cli({"convert", model, "-o", scratch() + "/x.safetensors", "--dtype", "f16"}), "f16");
}

TEST_CASE(
    "cli convert --dtype int8: the bundled model's CoNLL-2003 test F1 equals fp32's within 0.3 points; "
    "info says int8; an int8 file does not convert further") {
  if (!have_binary()) return;
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const double gate = model_card_gate();
  REQUIRE(gate > 0);
  const std::string model = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
  const std::string int8 = scratch() + "/bundled-int8.safetensors";
  const Output converted = check_ok({"convert", model, "-o", int8, "--dtype", "int8"});
  CHECK((converted.out + converted.err).find("matrices I8") != std::string::npos);
  const Json info = parse(check_ok({"info", int8, "--json"}).out);
  CHECK(member(info, "precision").as_string() == "int8");
  const std::string kernels = member(info, "kernels").as_string();
  CHECK((kernels == "avx512_vnni" || kernels == "avx_vnni" || kernels == "avx2" || kernels == "portable"));
  CHECK(check_ok({"info", int8}).out.find("runs as    int8 on " + kernels + " kernels") != std::string::npos);

  const Json scores = parse(check_ok({"eval", int8, "--data", albertner_test::shared_path("data/conll2003/test.txt"),
                                      "--json", "--threads", "2"})
                                .out);
  const double f1 = member(scores, "f1").as_double();
  MESSAGE("albertner eval, bundled model as int8 (" << kernels << " kernels) on CoNLL-2003 test: F1 " << f1 << " (fp32 "
                                                    << gate << ")");
  CHECK(std::fabs(f1 - gate) <= 0.003);
  check_fails(cli({"convert", int8, "-o", scratch() + "/back.safetensors"}), "int8 -> f32");
}

// ---- the CLI as a Unix tool (issue 19): flags, streaming, bad lines, terminals, shared defaults ----

namespace {

/// A running `albertner ARGS...` with pipes to its stdin and from its stdout (stderr to a file).
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;
  std::string err_path;

  explicit Child(const std::vector<std::string>& args) {
    static int counter = 0;
    err_path = scratch() + "/child" + std::to_string(counter++) + ".err";
    int to_child[2], from_child[2];
    REQUIRE(::pipe(to_child) == 0);
    REQUIRE(::pipe(from_child) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(err, 2);
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1], err}) ::close(fd);
      std::vector<std::string> all = {binary()};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in = to_child[1];
    out = from_child[0];
  }
  void write(const std::string& s) const { REQUIRE(::write(in, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
  /// One line from its stdout within `seconds`, else nullopt.
  std::optional<std::string> read_line(int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
      const std::size_t nl = pending.find('\n');
      if (nl != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      struct pollfd p {
        out, POLLIN, 0
      };
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      pending.append(buf, static_cast<std::size_t>(n));
    }
  }
  /// Closes its stdin and waits: the exit status.
  int finish() {
    ::close(in);
    in = -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (in >= 0) ::close(in);
  }
  std::string pending;
};

/// `command` run under a pseudo-terminal (util-linux `script`): what the terminal showed, or
/// nullopt (with one line saying why) when `script` is not installed.
std::optional<std::string> on_terminal(const std::string& command) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) {
    MESSAGE("skipped: `script` (util-linux) not installed, no pseudo-terminal");
    return std::nullopt;
  }
  const std::string log = scratch() + "/terminal.log";
  const int rc = std::system(("script -qec " + quote(command) + " /dev/null > " + quote(log) + " 2>&1").c_str());
  CHECK((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
  return read_text(log);
}

} // namespace

TEST_CASE("cli: -m/-i/-o on every model-taking subcommand; -o is atomic and errors name the user's path") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string input = scratch() + "/flags-in.txt", output = scratch() + "/flags-out.jsonl";
  write_text(input, kSentence + "\nParis\n");
  const std::string want = check_ok({"tag", *model}, kSentence + "\nParis\n").out;
  REQUIRE(lines_of(want).size() == 2);

  // tag: -m and -i, and -o (nothing on stdout; the file complete).
  CHECK(check_ok({"tag", "-m", *model, "-i", input}).out == want);
  CHECK(check_ok({"tag", "--model", *model, "--input", input, "-o", output}).out.empty());
  CHECK(read_text(output) == want);
  // tokenize and logits read the same way; eval, info and bench take -m.
  const std::string tokens = check_ok({"tokenize", "-m", *model, "-i", input}).out;
  CHECK(lines_of(tokens).size() == 2);
  CHECK(check_ok({"tokenize", "-m", *model, "-i", input, "-o", output}).out.empty());
  CHECK(read_text(output) == tokens);
  CHECK(check_ok({"info", "-m", *model}).out == check_ok({"info", *model}).out);
  CHECK(lines_of(check_ok({"bench", "-m", *model, "--lens", "8", "--runs", "1", "--warmup", "0"}).out).size() == 1);
  CHECK(check_ok({"info", "-m", *model, "-o", output}).out.empty());
  CHECK(read_text(output) == check_ok({"info", *model}).out);
  CHECK(check_ok({"bench", "-m", *model, "--lens", "8,16", "--runs", "1", "--warmup", "0", "-o", output}).out.empty());
  CHECK(lines_of(read_text(output)).size() == 2);
  const std::string conll = scratch() + "/flags.conll";
  write_text(conll, "Paris B-LOC\n\n");
  CHECK(check_ok({"eval", "-m", *model, "-i", conll, "--json", "-o", output}).out.empty());
  CHECK(member(parse(read_text(output)), "f1").is_number());
  CHECK(check_ok({"eval", "-m", *model, "-i", "-", "--json"}, read_text(conll)).out == read_text(output));

  // An unwritable -o: the error names the user's path, never a temporary file, and exit 1.
  const std::string nowhere = scratch() + "/no-such-folder/out.jsonl";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"tag", "-m", *model, "-o", nowhere, "x"},
                                               std::vector<std::string>{"tokenize", "-m", *model, "-o", nowhere, "x"},
                                               std::vector<std::string>{"convert", *model, "-o", nowhere}}) {
    Output o = cli(args);
    check_fails(o, joined(args));
    CHECK(o.status == 1);
    CHECK(o.err.find(nowhere + ": cannot create") != std::string::npos);
    CHECK(o.err.find(".tmp") == std::string::npos);
    CHECK(o.err.find(".albertner-") == std::string::npos);
  }
  // A failed run leaves no file behind, even after good records; an existing file stays as it was.
  const std::string untouched = scratch() + "/untouched.jsonl";
  check_fails(cli({"tag", "-m", *model, "-o", untouched, "bad \xff"}), "bad text, -o");
  CHECK(!std::filesystem::exists(untouched));
  const std::string before = read_text(output);
  REQUIRE(!before.empty());
  CHECK(cli({"tag", "-m", *model, "-o", output}, "Paris\n\xff\n").status == 1);
  CHECK(read_text(output) == before);
  CHECK(std::filesystem::directory_iterator(scratch()) != std::filesystem::directory_iterator());
  for (const auto& entry : std::filesystem::directory_iterator(scratch()))
    CHECK(entry.path().string().find(".albertner-") == std::string::npos); // no temporary file left

  // A text file where the model belongs: a hint, not a safetensors header error.
  Output text_model = cli({"tag", input});
  check_fails(text_model, "text file as the model");
  CHECK(text_model.err.find("a text file, not a model") != std::string::npos);
  CHECK(text_model.err.find("-i/--input") != std::string::npos);
  // A folder as input, or as stdin: an I/O error (exit 1), not a text.
  Output folder = cli({"tag", "-m", *model, "-i", scratch()});
  check_fails(folder, "folder as input");
  CHECK(folder.status == 1);
  CHECK(folder.err.find("is a directory") != std::string::npos);
  {
    const std::string err = scratch() + "/dir-stdin.err", out = scratch() + "/dir-stdin.out";
    const int rc = std::system((quote(binary()) + " tag -m " + quote(*model) + " < " + quote(scratch()) + " > " +
                                quote(out) + " 2> " + quote(err))
                                   .c_str());
    CHECK((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 1));
    CHECK(read_text(out).empty());
    CHECK(read_text(err) == "albertner: error: io: stdin: is a directory\n");
  }
  // Texts as arguments and -i together are ambiguous.
  CHECK(cli({"tag", "-m", *model, "-i", input, "x"}).status == 2);
}

TEST_CASE("cli: usage errors exit 2 with one line naming the flag; suggestions for typos") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const std::vector<Case> cases = {
      {{"tag", "-m", *model, "--threads", "-1", "x"}, "--threads"},
      {{"tag", "-m", *model, "--window", "-1", "x"}, "--window"},
      {{"tag", "-m", *model, "--batch", "-1", "x"}, "--batch"},
      {{"eval", "-m", *model, "--threads", "0", "--data", "x"}, "--threads"},
      {{"eval", "-m", *model}, "--data"},
      {{"bench", "-m", *model, "--runs", "0"}, "--runs"},
      {{"bench", "-m", *model, "--lens", "0"}, "--lens"},
      {{"bench", "-m", *model, "--lens", "100000"}, "--lens"},
      {{"convert", *model, "-o", scratch() + "/x.safetensors", "--dtype", "fp16"}, "--dtype"},
      {{"convert", *model, "-o", scratch() + "/x.safetensors", "--aggregation", "longest"}, "--aggregation"},
      {{"tag", "-m", *model, "--on-error", "ignore", "x"}, "--on-error"},
      {{"tag", "-m", *model, "--color", "sometimes", "x"}, "--color"},
      {{"tga", "x"}, "did you mean 'tag'?"},
      {{"tag", "-m", *model, "--formt", "json", "x"}, "did you mean '--format'?"},
      {{"eval", "-m", *model, "--dta", "x"}, "did you mean '--data'?"},
  };
  for (const Case& c : cases) {
    Output o = cli(c.args);
    check_fails(o, joined(c.args));
    CHECK(o.status == 2);
    CHECK(o.err.find(c.names) != std::string::npos);
  }
}

TEST_CASE("cli tag: streams; the first record is out before the input ends, in input order") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string first = check_ok({"tag", *model, "--format", "jsonl", kSentence}).out;
  const std::string second = check_ok({"tag", *model, "--format", "jsonl", "Paris"}).out;
  Child child({"tag", "-m", *model, "--format", "jsonl"});
  child.write(kSentence + "\n");
  // Its record arrives while stdin is still open (within a minute even on a loaded machine).
  const std::optional<std::string> got = child.read_line(60);
  REQUIRE(got.has_value());
  CHECK(*got + "\n" == first);
  child.write("Paris\n");
  const std::optional<std::string> next = child.read_line(60);
  REQUIRE(next.has_value());
  CHECK(*next + "\n" == second);
  CHECK(child.finish() == 0);
  CHECK(read_text(child.err_path).empty()); // not a terminal: no progress

  // Many lines in, as many records out, in order (several batches).
  std::string many, want;
  for (int i = 0; i < 300; ++i) {
    const std::string text = i % 3 ? "Paris " + std::to_string(i) : "";
    many += text + "\n";
  }
  const std::vector<std::string> lines =
      lines_of(check_ok({"tag", *model, "--format", "jsonl", "--batch", "2"}, many).out);
  REQUIRE(lines.size() == 300);
  for (int i = 0; i < 300; ++i)
    CHECK(member(parse(lines[static_cast<std::size_t>(i)]), "text").as_string() ==
          (i % 3 ? "Paris " + std::to_string(i) : ""));
}

TEST_CASE(
    "cli tag: JSON lines keep their other fields; bad lines stop or, with --on-error skip, become error records") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string input = "{\"id\": 7, \"text\": " + json_string(kSentence) + ", \"meta\": {\"a\": [1, 2]}}\n" +
                            "{\"id\": 8, \"words\": [\"no\", \"text\"]}\n" + "not json \xff\n" +
                            "{\"id\": 9, \"text\": \"Paris\"}\n";
  // Default: stop at line 2, after writing line 1's record; exit 1.
  Output stop = cli({"tag", *model, "--input-format", "jsonl", "--format", "jsonl"}, input);
  CHECK(stop.status == 1);
  REQUIRE(lines_of(stop.out).size() == 1);
  const Json first = parse(lines_of(stop.out)[0]);
  std::vector<std::string> keys;
  for (const auto& m : first.members()) keys.push_back(m.first);
  CHECK(keys == std::vector<std::string>{"id", "text", "meta", "entities"});
  CHECK(int_at(first, "id") == 7);
  CHECK(member(first, "meta").dump() == "{\"a\":[1,2]}");
  CHECK(stop.err == "albertner: error: stdin line 2: expected {\"text\": string, ...}\n");

  // skip: every line has its record, the bad ones an error record naming the line; exit 3.
  const std::string path = scratch() + "/bad-lines.jsonl";
  write_text(path, input);
  Output skip = cli({"tag", *model, "-i", path, "--input-format", "jsonl", "--format", "jsonl", "--on-error", "skip"});
  CHECK(skip.status == 3);
  const std::vector<std::string> lines = lines_of(skip.out);
  REQUIRE(lines.size() == 4);
  CHECK(parse(lines[0]).dump() == first.dump());
  const Json bad_text = parse(lines[1]);
  CHECK(int_at(bad_text, "id") == 8);
  CHECK(int_at(bad_text, "line") == 2);
  CHECK(member(bad_text, "error").as_string().rfind(path + " line 2: ", 0) == 0);
  CHECK(bad_text.find("entities") == nullptr);
  const Json bad_json = parse(lines[2]);
  CHECK(int_at(bad_json, "line") == 3);
  CHECK(member(bad_json, "error").as_string().rfind(path + " line 3: ", 0) == 0);
  CHECK(int_at(parse(lines[3]), "id") == 9);
  // One warning line per bad line on stderr.
  CHECK(lines_of(skip.err).size() == 2);
  CHECK(skip.err.find(path + " line 3") != std::string::npos);

  // Text input: line numbers count from 1, as for JSON lines; json output keeps one line per input line.
  Output text = cli({"tag", *model, "--on-error", "skip"}, std::string("Paris\n\xff\nParis\n"));
  CHECK(text.status == 3);
  const std::vector<std::string> text_lines = lines_of(text.out);
  REQUIRE(text_lines.size() == 3);
  CHECK(parse(text_lines[0]).is_array());
  CHECK(member(parse(text_lines[1]), "error").as_string().rfind("stdin line 2: ", 0) == 0);
  CHECK(text_lines[2] == text_lines[0]);
}

TEST_CASE("cli tag: pretty colours a terminal unless NO_COLOR; progress on a terminal only") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string tag = quote(binary()) + " tag -m " + quote(*model) + " --format pretty " + quote(kSentence);
  std::optional<std::string> shown = on_terminal(tag);
  if (!shown) return;
  CHECK(shown->find("\x1b[") != std::string::npos);
  shown = on_terminal("NO_COLOR=1 " + tag);
  REQUIRE(shown);
  CHECK(shown->find("\x1b[") == std::string::npos);
  CHECK(shown->find("](") != std::string::npos);
  shown = on_terminal(tag + " --color never");
  REQUIRE(shown);
  CHECK(shown->find("\x1b[") == std::string::npos);

  // Progress: on the terminal's stderr, lines and rate; none with --quiet, none into a file.
  const std::string input = scratch() + "/progress.txt", out = scratch() + "/progress.out";
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += "Paris\n";
  write_text(input, lines);
  const std::string run = quote(binary()) + " tag -m " + quote(*model) + " -i " + quote(input) + " -o " + quote(out);
  shown = on_terminal(run);
  REQUIRE(shown);
  CHECK(shown->find("albertner tag: 50 lines") != std::string::npos);
  shown = on_terminal(run + " --quiet");
  REQUIRE(shown);
  CHECK(shown->find("albertner tag:") == std::string::npos);
  Output forced = check_ok({"tag", "-m", *model, "-i", input, "-o", out, "--progress"});
  CHECK(forced.err.find("albertner tag: 50 lines") != std::string::npos);
}

TEST_CASE("cli: one set of defaults; tag's conll words equal eval's predictions on a long sentence") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  // 300 words need several 64-position windows: both commands window with the same default overlap.
  std::vector<std::string> words;
  const char* pool[] = {"Paris", "London", "went", "to", "the", "United", "Nations", "Zürich", "."};
  for (int i = 0; i < 300; ++i) words.push_back(pool[(i * 7) % 9]);
  std::string text, gold;
  for (const std::string& w : words) {
    text += (text.empty() ? "" : " ") + w;
    gold += w + " O\n";
  }
  const std::string data = scratch() + "/long.conll", predictions = scratch() + "/long.pred";
  write_text(data, gold + "\n");
  check_ok({"eval", "-m", *model, "--data", data, "--predictions", predictions});
  std::vector<std::string> from_eval, from_tag;
  for (const std::string& line : lines_of(read_text(predictions)))
    if (!line.empty()) from_eval.push_back(line.substr(0, line.find(' ')) + "\t" + line.substr(line.rfind(' ') + 1));
  for (const std::string& line : lines_of(check_ok({"tag", "-m", *model, "--format", "conll", text}).out))
    if (!line.empty()) from_tag.push_back(line);
  REQUIRE(from_eval.size() == words.size());
  CHECK(from_tag == from_eval);

  // bench's default lengths stop at the model's 64 positions.
  std::vector<std::int64_t> seqs;
  for (const std::string& line : lines_of(check_ok({"bench", "-m", *model, "--runs", "1", "--warmup", "0"}).out))
    seqs.push_back(int_at(parse(line), "seq"));
  CHECK(seqs == std::vector<std::int64_t>{16, 64});
}

TEST_CASE("cli tokenize: reads texts like tag; its output pipes into logits") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string tokens = check_ok({"tokenize", "-m", *model}, kSentence + "\nParis\n").out;
  const std::vector<std::string> lines = lines_of(tokens);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] + "\n" == check_ok({"tokenize", *model, kSentence}).out);
  // logits reads those lines: one result per line, equal to the ids given as a batch of one.
  const std::vector<std::string> logits = lines_of(check_ok({"logits", "-m", *model}, tokens).out);
  REQUIRE(logits.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const Json ids = member(parse(lines[i]), "input_ids");
    const std::string batch = check_ok({"logits", "-m", *model}, "{\"input_ids\": [" + ids.dump() + "]}").out;
    CHECK(logits[i] + "\n" == batch);
  }
}

TEST_CASE("cli convert --aggregation: the file recommends it, info shows it, tag uses it unless told otherwise") {
  if (!have_binary()) return;
  const std::string* model = converted("tiny");
  if (!model) return;
  const std::string first = scratch() + "/tiny-first.safetensors";
  const Output converted_first = check_ok({"convert", *model, "-o", first, "--aggregation", "first"});
  CHECK(converted_first.err.find("aggregation first") != std::string::npos);
  CHECK(member(parse(check_ok({"info", first, "--json"}).out), "aggregation").as_string() == "first");
  CHECK(member(parse(check_ok({"info", *model, "--json"}).out), "aggregation").is_null());
  CHECK(check_ok({"info", first}).out.find("aggregation first") != std::string::npos);
  const std::string text = "CRICKET - LEICESTERSHIRE TAKE OVER AT TOP AFTER INNINGS VICTORY .";
  CHECK(check_ok({"tag", "-m", first, text}).out ==
        check_ok({"tag", "-m", *model, "--aggregation", "first", text}).out);
  CHECK(check_ok({"tag", "-m", first, "--aggregation", "simple", text}).out ==
        check_ok({"tag", "-m", *model, text}).out);
}
