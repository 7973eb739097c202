// Long documents and arbitrary text through the Tagger: windows of a 64-position model
// (golden/tiny) over a 5,000-token document lose no token and stitch exactly what each window
// alone gives; golden/base windows a 1,200-token document; and random Unicode text of every
// kind yields entities whose offsets always lie on character boundaries inside the text.
#include "golden.hpp"
#include "shared.hpp"

#include <albertner/albertner.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using albertner::Aggregation;
using albertner::Encoding;
using albertner::Entity;
using albertner::errc;
using albertner::Tagger;
using albertner::TaggerOptions;
using albertner_test::shared_path;
using albertner_test::TempDir;

namespace {

const Aggregation kStrategies[] = {Aggregation::none, Aggregation::simple, Aggregation::first, Aggregation::average,
                                   Aggregation::max};

/// golden/<fixture> converted once per program.
struct ConvertedModel {
  TempDir dir;
  std::string path;
  explicit ConvertedModel(const std::string& fixture) : dir("long-" + fixture) {
    path = dir / (fixture + ".albertner");
    albertner_test::convert_or_fail(shared_path("golden/" + fixture), path);
  }
};

const std::string& tiny_model() {
  static ConvertedModel m("tiny");
  return m.path;
}
const std::string& base_model() {
  static ConvertedModel m("base");
  return m.path;
}

Tagger<> open_tagger(const std::string& path, const TaggerOptions& options) {
  auto t = Tagger<>::open(path, options);
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().what()));
  return std::move(t).value();
}

/// Tiny-model options: windows of the model's 64 positions sharing 16 tokens.
TaggerOptions tiny_options(Aggregation aggregation = Aggregation::none) {
  TaggerOptions o;
  o.aggregation = aggregation;
  o.ignore_labels = {};
  o.window = 64;
  o.overlap = 16;
  o.batch_size = 1;
  o.threads = 1;
  return o;
}

/// CoNLL-2003 validation sentences, space-joined, until the text has at least `min_tokens`
/// content tokens under `tokenizer`.
std::string conll_document(const albertner::Tokenizer& tokenizer, std::size_t min_tokens) {
  const std::string conll = albertner_test::read_text(shared_path("data/conll2003/valid.txt"));
  REQUIRE(!conll.empty());
  std::vector<std::string> sentences;
  std::string sentence, line;
  std::istringstream lines(conll);
  while (std::getline(lines, line)) {
    if (line.empty() || line.compare(0, 10, "-DOCSTART-") == 0) {
      if (!sentence.empty()) sentences.push_back(sentence);
      sentence.clear();
      continue;
    }
    const std::string word = line.substr(0, line.find(' '));
    sentence += (sentence.empty() ? "" : " ") + word;
  }
  if (!sentence.empty()) sentences.push_back(sentence);
  std::string text;
  std::size_t used = 0;
  for (std::size_t chunk = 8;; chunk += 8) {
    while (used < sentences.size() && used < chunk) text += (text.empty() ? "" : " ") + sentences[used++];
    auto e = tokenizer.encode(text);
    REQUIRE(e.ok());
    if (e->size() - 2 >= min_tokens) break;
    REQUIRE(used < sentences.size());
  }
  return text;
}

/// Logits [tokens][labels] of `e` computed window by window, each window alone (batch 1), each
/// token's row from the window assign_tokens_to_windows gives it ([CLS]/[SEP] rows 0).
std::vector<float> windowed_reference(const albertner::Encoder& encoder, const albertner::Tokenizer& tokenizer,
                                      const Encoding& e, std::size_t window, std::size_t overlap) {
  const std::size_t L = static_cast<std::size_t>(encoder.config().num_labels());
  const std::size_t content = e.size() - 2;
  auto windows = albertner::plan_windows(content, {window, overlap});
  REQUIRE(windows.ok());
  const std::vector<std::size_t> owner = albertner::assign_tokens_to_windows(*windows, content);
  std::vector<float> logits(e.size() * L, 0.0f);
  albertner::Encoder::Workspace ws;
  for (std::size_t w = 0; w < windows->size(); ++w) {
    const albertner::Window& win = (*windows)[w];
    std::vector<std::int64_t> ids = {tokenizer.cls_id()};
    for (std::size_t t = win.begin; t < win.end; ++t) ids.push_back(e.ids[t + 1]);
    ids.push_back(tokenizer.sep_id());
    albertner::EncoderInput in;
    in.batch = 1;
    in.seq_len = static_cast<std::int64_t>(ids.size());
    in.input_ids = ids.data();
    auto out = encoder.forward(in, ws);
    REQUIRE(out.ok());
    for (std::size_t t = win.begin; t < win.end; ++t)
      if (owner[t] == w) std::memcpy(&logits[(t + 1) * L], out->logits + (t - win.begin + 1) * L, L * sizeof(float));
  }
  return logits;
}

/// Byte position of each code point of valid UTF-8 `s`, plus s.size() at the end; decoded here,
/// independently of the library.
std::vector<std::size_t> code_point_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size();) {
    starts.push_back(i);
    const auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  starts.push_back(s.size());
  return starts;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

TEST_CASE("a 5,000-token document through 64-position windows: no token lost, exactly the windows' own logits") {
  if (!albertner_test::have_shared("golden/tiny") || !albertner_test::have_shared("data/conll2003/valid.txt")) return;
  const auto t0 = std::chrono::steady_clock::now();
  Tagger<> tagger = open_tagger(tiny_model(), tiny_options());
  CHECK(tagger.options().window == 64);
  const std::string text = conll_document(tagger.tokenizer(), 5000);
  auto encoding = tagger.tokenizer().encode(text);
  REQUIRE(encoding.ok());
  const std::size_t content = encoding->size() - 2;
  auto windows = albertner::plan_windows(content, {64, 16});
  REQUIRE(windows.ok());
  MESSAGE("document: " << text.size() << " bytes, " << content << " content tokens, " << windows->size()
                       << " windows of 64 positions with overlap 16");

  // Every content token is covered, by the window in which it sits most centrally.
  const std::vector<std::size_t> owner = albertner::assign_tokens_to_windows(*windows, content);
  CHECK(windows->front().begin == 0);
  CHECK(windows->back().end == content);
  std::size_t best_choice = 0;
  for (std::size_t t = 0; t < content; ++t) {
    REQUIRE(owner[t] < windows->size());
    const auto centrality = [&](const albertner::Window& w) {
      return std::min(t - w.begin, w.end - 1 - t);
    };
    const albertner::Window& mine = (*windows)[owner[t]];
    REQUIRE((mine.begin <= t && t < mine.end));
    bool best = true;
    for (const albertner::Window& w : *windows)
      if (w.begin <= t && t < w.end && centrality(w) > centrality(mine)) best = false;
    best_choice += best;
  }
  CHECK(best_choice == content);

  // aggregation none, nothing ignored: one entity per content token, the last far past 5,000.
  auto entities = tagger.tag(text);
  REQUIRE_MESSAGE(entities.ok(), (entities.ok() ? "" : entities.error().what()));
  CHECK(entities->size() == content);
  std::size_t in_order = 0;
  for (std::size_t i = 0; i < entities->size(); ++i) in_order += (*entities)[i].index == static_cast<std::int64_t>(i + 1);
  CHECK(in_order == content);
  const std::int64_t last = entities->empty() ? 0 : entities->back().index;
  MESSAGE("tagged " << entities->size() << " entities, last index " << last);
  CHECK(last >= 5000);

  // The same as each window alone through the encoder, stitched by assign_tokens_to_windows.
  auto model = albertner::Model::open(tiny_model());
  REQUIRE(model.ok());
  auto encoder = albertner::make_encoder(*model);
  REQUIRE(encoder.ok());
  const std::vector<float> reference = windowed_reference(*encoder, tagger.tokenizer(), *encoding, 64, 16);
  const std::size_t L = tagger.labels().size();
  auto stitched = tagger.document_logits({*encoding});
  REQUIRE(stitched.ok());
  REQUIRE(stitched->front().size() == reference.size());
  CHECK(std::equal(stitched->front().begin() + L, stitched->front().end() - L, reference.begin() + L));
  albertner::DecodeOptions decode{Aggregation::none, {}, tagger.tokenizer().unk_id()};
  auto want = albertner::decode_entities(text, tagger.token_infos(*encoding), reference.data(), L, tagger.labels(), decode);
  REQUIRE(want.ok());
  REQUIRE(want->size() == entities->size());
  std::size_t identical = 0;
  for (std::size_t i = 0; i < want->size(); ++i) {
    const Entity &a = (*entities)[i], &b = (*want)[i];
    identical += a.label == b.label && a.score == b.score && a.index == b.index && a.word == b.word &&
                 a.start == b.start && a.end == b.end && a.byte_start == b.byte_start && a.byte_end == b.byte_end;
  }
  MESSAGE("batch_size 1: " << identical << "/" << want->size() << " entities identical to the window-by-window run");
  CHECK(identical == want->size());

  // Batches of 8 windows on 2 threads: same labels, scores within 1e-5.
  TaggerOptions batched = tiny_options();
  batched.batch_size = 8;
  batched.threads = 2;
  Tagger<> tagger8 = open_tagger(tiny_model(), batched);
  auto entities8 = tagger8.tag(text);
  REQUIRE(entities8.ok());
  REQUIRE(entities8->size() == want->size());
  std::size_t same_labels = 0;
  double worst_score = 0;
  for (std::size_t i = 0; i < want->size(); ++i) {
    const Entity &a = (*entities8)[i], &b = (*want)[i];
    same_labels += a.label == b.label && a.index == b.index && a.start == b.start && a.end == b.end;
    worst_score = std::max(worst_score, std::fabs(double(a.score) - double(b.score)));
  }
  MESSAGE("batch_size 8, 2 threads: " << same_labels << "/" << want->size() << " same labels and spans, max score difference "
                                      << worst_score);
  CHECK(same_labels == want->size());
  CHECK(worst_score <= 1e-5);

  // Grouped strategies see the same stitched logits: compare to decoding the reference.
  for (Aggregation a : {Aggregation::simple, Aggregation::first}) {
    CAPTURE(albertner::aggregation_name(a));
    Tagger<> t = open_tagger(tiny_model(), tiny_options(a));
    auto got = t.tag(text);
    REQUIRE(got.ok());
    albertner::DecodeOptions d{a, {}, t.tokenizer().unk_id()};
    auto expected = albertner::decode_entities(text, t.token_infos(*encoding), reference.data(), L, t.labels(), d);
    REQUIRE(expected.ok());
    REQUIRE(got->size() == expected->size());
    std::size_t same = 0;
    for (std::size_t i = 0; i < got->size(); ++i)
      same += (*got)[i].label == (*expected)[i].label && (*got)[i].score == (*expected)[i].score &&
              (*got)[i].start == (*expected)[i].start && (*got)[i].end == (*expected)[i].end &&
              (*got)[i].word == (*expected)[i].word;
    CHECK(same == got->size());
  }
  MESSAGE("5,000-token checks: " << seconds_since(t0) << " s");
}

TEST_CASE("window and overlap are validated against the model") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  const auto fails = [](TaggerOptions o, const std::string& fragment) {
    auto t = Tagger<>::open(tiny_model(), o);
    REQUIRE_FALSE(t.ok());
    INFO(t.error().what());
    CHECK(t.error().code() == errc::invalid_input);
    CHECK(t.error().message().find(fragment) != std::string::npos);
  };
  TaggerOptions o = tiny_options();
  o.overlap = 62; // = window - 2: windows would never advance
  fails(o, "overlap 62 must be less than window - 2 = 62");
  o.overlap = 61;
  CHECK(Tagger<>::open(tiny_model(), o).ok());
  o = tiny_options();
  o.window = 65; // more positions than the model has
  fails(o, "window 65 exceeds the model's 64 positions");
  o.window = 2; // no room between [CLS] and [SEP]
  o.overlap = 0;
  fails(o, "window 2");
  o = tiny_options();
  o.window = 0; // the model's limit
  auto t = Tagger<>::open(tiny_model(), o);
  REQUIRE(t.ok());
  CHECK(t->options().window == 64);
  o = tiny_options();
  o.batch_size = 0;
  fails(o, "batch_size");
  o = tiny_options();
  o.threads = 0;
  fails(o, "threads");

  auto fits = albertner::plan_windows(10, {64, 16});
  REQUIRE(fits.ok());
  CHECK(fits->size() == 1); // a document that fits is one window
  auto empty = albertner::plan_windows(0, {64, 16});
  REQUIRE(empty.ok());
  CHECK(empty->size() == 1);
}

TEST_CASE("golden base: a 1,200-token document is windowed; the first window's central tokens are a single-window run") {
  if (!albertner_test::have_shared("golden/base") || !albertner_test::have_shared("data/conll2003/valid.txt")) return;
  const auto t0 = std::chrono::steady_clock::now();
  TaggerOptions o;
  o.aggregation = Aggregation::none;
  o.batch_size = 1;
  o.threads = 2;
  Tagger<> tagger = open_tagger(base_model(), o);
  REQUIRE(tagger.options().window == 512);
  std::string text = conll_document(tagger.tokenizer(), 1200);
  auto encoding = tagger.tokenizer().encode(text);
  REQUIRE(encoding.ok());
  const std::size_t content = encoding->size() - 2, L = tagger.labels().size();
  auto windows = albertner::plan_windows(content, {512, 128});
  REQUIRE(windows.ok());
  MESSAGE("base document: " << content << " content tokens, " << windows->size() << " windows of 512");
  CHECK(windows->size() >= 3);

  auto stitched = tagger.document_logits({*encoding});
  REQUIRE(stitched.ok());
  const std::vector<float>& logits = stitched->front();

  // The first window alone, as a plain 512-token input.
  auto model = albertner::Model::open(base_model());
  REQUIRE(model.ok());
  auto encoder = albertner::make_encoder(*model);
  REQUIRE(encoder.ok());
  std::vector<std::int64_t> ids(encoding->ids.begin(), encoding->ids.begin() + 511);
  ids.push_back(tagger.tokenizer().sep_id());
  albertner::EncoderInput in;
  in.batch = 1;
  in.seq_len = 512;
  in.input_ids = ids.data();
  albertner::Encoder::Workspace ws;
  auto single = encoder->forward(in, ws);
  REQUIRE(single.ok());
  const std::vector<std::size_t> owner = albertner::assign_tokens_to_windows(*windows, content);
  std::size_t owned = 0, equal_rows = 0;
  for (std::size_t t = 0; t < content && owner[t] == 0; ++t) {
    ++owned;
    equal_rows += std::equal(single->logits + (t + 1) * L, single->logits + (t + 2) * L, logits.begin() + (t + 1) * L);
  }
  MESSAGE("first window owns tokens 0.." << owned - 1 << "; " << equal_rows << "/" << owned << " rows equal to the single-window run");
  CHECK(owned > 300);
  CHECK(equal_rows == owned);
  // Later tokens see a different context: some rows differ from the single run beyond them.
  bool differs_after = false;
  for (std::size_t t = owned; t < 510; ++t)
    differs_after = differs_after || !std::equal(single->logits + (t + 1) * L, single->logits + (t + 2) * L,
                                                 logits.begin() + (t + 1) * L);
  CHECK(differs_after);

  // Entities beyond the 512th token.
  albertner::DecodeOptions decode{Aggregation::none, {"O"}, tagger.tokenizer().unk_id()};
  auto entities = albertner::decode_entities(text, tagger.token_infos(*encoding), logits.data(), L, tagger.labels(), decode);
  REQUIRE(entities.ok());
  std::size_t beyond = 0;
  for (const Entity& e : *entities) beyond += e.index > 512;
  MESSAGE("base document: " << entities->size() << " entities, " << beyond << " beyond token 512; " << seconds_since(t0) << " s");
  CHECK(beyond > 100);
}

TEST_CASE("random Unicode text: every entity's offsets lie on character boundaries inside the text") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  const std::vector<std::string> pieces = {
      "London", "the", "FC", "Barcelona", "3-1", "1996-08-30", "U.S.", "don't", "e-mail", "$1,234.50", "[MASK]", "<unk>",
      "<pad>", "[CLS]", "[SEP]", "café", "naïve", "résumé", "Zoë", "São", "e\xCC\x81", "\xC3\x85ngstr\xC3\xB6m",
      "İstanbul", "straße", "ﬁnance", "Ⅻ", "①", "東京都", "日本語", "中文", "한국어", "カタカナ", "مرحبا", "שלום",
      "Привет", "Ελλάδα", "😀", "👨‍👩‍👧‍👦", "🇫🇷", "👍🏽", "😀inside", "a😀b", "\xE2\x80\x8B", "\xEF\xBB\xBF", "''",
      "``", "\"", ",", ".", "(", ")", "--", "...", "\xE2\x80\x94", "\xC2\xA9", "x\xCC\x88\xCC\x81", "ＡＢＣ", "１２３"};
  const std::vector<std::string> spaces = {" ", " ", " ", "  ", "\t", "\n", "\r\n", "\xC2\xA0", "\xE2\x80\x83",
                                           "\xE3\x80\x80", "\xE2\x80\xA8", "", ""};
  std::mt19937 rng(20240611);
  std::vector<std::string> texts;
  for (int n = 0; n < 200; ++n) {
    const std::size_t words = n % 10 == 9 ? 60 + rng() % 80 : 1 + rng() % 12; // some need several windows
    std::string s;
    if (rng() % 4 == 0) s += spaces[rng() % spaces.size()];
    for (std::size_t w = 0; w < words; ++w) {
      if (w) s += spaces[rng() % spaces.size()];
      s += pieces[rng() % pieces.size()];
    }
    if (rng() % 4 == 0) s += spaces[rng() % spaces.size()];
    texts.push_back(s);
  }

  std::size_t checked = 0, multi_window = 0;
  for (Aggregation a : kStrategies) {
    CAPTURE(albertner::aggregation_name(a));
    Tagger<> tagger = open_tagger(tiny_model(), tiny_options(a));
    auto all = tagger.tag_batch(texts);
    REQUIRE_MESSAGE(all.ok(), (all.ok() ? "" : all.error().what()));
    REQUIRE(all->size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string& s = texts[i];
      CAPTURE(s);
      const std::vector<std::size_t> starts = code_point_starts(s);
      const std::size_t cps = starts.size() - 1;
      auto e = tagger.tokenizer().encode(s);
      REQUIRE(e.ok());
      if (a == Aggregation::none) {
        multi_window += e->size() > 64;
        CHECK((*all)[i].size() == e->size() - 2); // nothing ignored: one entity per token
      }
      std::size_t previous_start = 0;
      for (const Entity& x : (*all)[i]) {
        ++checked;
        REQUIRE(x.start <= x.end);
        REQUIRE(x.end <= cps);
        CHECK(x.byte_start == starts[x.start]);
        CHECK(x.byte_end == starts[x.end]);
        CHECK(x.text == s.substr(x.byte_start, x.byte_end - x.byte_start));
        CHECK(x.start >= previous_start);
        previous_start = x.start;
        if (a == Aggregation::none) CHECK((x.index >= 1 && x.index <= static_cast<std::int64_t>(e->size()) - 2));
        else CHECK(x.index == -1);
      }
    }
  }
  MESSAGE("random Unicode: " << texts.size() << " texts (" << multi_window << " longer than one window), " << checked
                             << " entities checked over the five strategies");
  CHECK(multi_window >= 10);
}

TEST_CASE("empty and whitespace-only text give no entities; invalid UTF-8 is an error") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  const std::vector<std::string> blank = {"", " ", "     ", "\t\n\r\n ", "\xC2\xA0", "\xE2\x80\x83\xE3\x80\x80 \t"};
  const std::vector<std::string> invalid = {"\xFF", "abc\xC3", "\xC0\xAF", "\xED\xA0\x80 surrogate", "ok \xF4\x90\x80\x80"};
  for (Aggregation a : kStrategies) {
    CAPTURE(albertner::aggregation_name(a));
    for (const std::vector<std::string>& ignore : {std::vector<std::string>{}, std::vector<std::string>{"O"}}) {
      TaggerOptions o = tiny_options(a);
      o.ignore_labels = ignore;
      Tagger<> tagger = open_tagger(tiny_model(), o);
      for (const std::string& s : blank) {
        CAPTURE(s);
        auto r = tagger.tag(s);
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
        CHECK(r->empty());
      }
      auto batch = tagger.tag_batch(blank);
      REQUIRE(batch.ok());
      for (const auto& entities : *batch) CHECK(entities.empty());
      for (const std::string& s : invalid) {
        auto r = tagger.tag(s);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == errc::invalid_input);
        // In a batch the failing text is named.
        auto b = tagger.tag_batch({"fine", s});
        REQUIRE_FALSE(b.ok());
        CHECK(b.error().code() == errc::invalid_input);
        CHECK(std::string(b.error().what()).find("text 1") != std::string::npos);
      }
    }
  }
}
