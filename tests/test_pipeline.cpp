// The Tagger end to end against Hugging Face's TokenClassificationPipeline (transformers 4.21):
// golden/base converted to a model file, text in, entities out, for the 60 texts of
// golden/pipeline (Hub tokenizer.json) and golden/pipeline-reconverted (re-converted
// tokenizer.json) and all five aggregation strategies. Tokens, offsets and entities must be
// Hugging Face's; a label may differ only where the case's top-2 probabilities are within 1e-4
// (min_prob_margin), since our logits differ from HF's by ~1e-5.
#include "golden.hpp"
#include "shared.hpp"

#include <albertner/albertner.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using albertner::Aggregation;
using albertner::Encoding;
using albertner::Entity;
using albertner::Json;
using albertner::Tagger;
using albertner::TaggerOptions;
using albertner_test::shared_path;
using albertner_test::TempDir;

namespace {

const Aggregation kStrategies[] = {Aggregation::none, Aggregation::simple, Aggregation::first, Aggregation::average,
                                   Aggregation::max};
constexpr double kScoreTolerance = 1e-4;  // text → our encoder → scores, vs HF's
constexpr double kNearTie = 1e-4;          // min_prob_margin below which a label may flip

struct WantEntity {
  std::string label, word;
  double score = 0;
  std::int64_t index = -1;
  std::size_t start = 0, end = 0, start_bytes = 0, end_bytes = 0;
};

struct Case {
  std::string id, text;
  bool truncated = false;
  std::vector<std::int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<std::size_t, std::size_t>> offsets, byte_offsets;
  std::vector<std::uint8_t> special;
  std::vector<float> logits; // [tokens][labels]
  double min_prob_margin = std::numeric_limits<double>::quiet_NaN();
  bool has_entities[5] = {};                // false: the reference raised (null)
  std::vector<WantEntity> entities[5];     // by strategy
};

std::size_t as_size(const Json& j) { return static_cast<std::size_t>(j.as_int()); }

std::vector<std::pair<std::size_t, std::size_t>> pairs_of(const Json& j) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const Json& p : j.items()) out.emplace_back(as_size(p.items()[0]), as_size(p.items()[1]));
  return out;
}

const Json& field(const Json& j, const char* key) {
  const Json* v = j.find(key);
  REQUIRE_MESSAGE(v, "missing field " << key);
  return *v;
}

std::vector<Case> load_cases(const std::string& variant) {
  const std::string text = albertner_test::read_text(shared_path("golden/" + variant + "/cases.jsonl"));
  REQUIRE(!text.empty());
  std::vector<Case> cases;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto parsed = albertner::parse_json(line);
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().what()));
    const Json& j = *parsed;
    Case c;
    c.id = field(j, "id").as_string();
    c.text = field(j, "text").as_string();
    c.truncated = field(j, "truncated").as_bool();
    for (const Json& v : field(j, "input_ids").items()) c.ids.push_back(static_cast<std::int32_t>(v.as_int()));
    for (const Json& v : field(j, "tokens").items()) c.tokens.push_back(v.as_string());
    c.offsets = pairs_of(field(j, "offsets_cp"));
    c.byte_offsets = pairs_of(field(j, "offsets_bytes"));
    for (const Json& v : field(j, "special_tokens_mask").items()) c.special.push_back(static_cast<std::uint8_t>(v.as_int()));
    for (const Json& row : field(j, "logits").items())
      for (const Json& v : row.items()) c.logits.push_back(static_cast<float>(v.as_double()));
    if (field(j, "min_prob_margin").is_number()) c.min_prob_margin = field(j, "min_prob_margin").as_double();
    const Json& entities = field(j, "entities");
    for (int s = 0; s < 5; ++s) {
      const Json& list = field(entities, albertner::aggregation_name(kStrategies[s]));
      if (list.is_null()) continue;
      c.has_entities[s] = true;
      for (const Json& e : list.items()) {
        WantEntity w;
        w.label = field(e, s == 0 ? "entity" : "entity_group").as_string();
        w.score = field(e, "score").as_double();
        if (s == 0) w.index = field(e, "index").as_int();
        w.word = field(e, "word").as_string();
        w.start = as_size(field(e, "start"));
        w.end = as_size(field(e, "end"));
        w.start_bytes = as_size(field(e, "start_bytes"));
        w.end_bytes = as_size(field(e, "end_bytes"));
        c.entities[s].push_back(w);
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

/// "" when `got` is `want` (labels, words, offsets and index exactly, scores within
/// `tolerance`), else the first difference.
std::string difference(const std::vector<Entity>& got, const std::vector<WantEntity>& want, double tolerance,
                       double* worst_score = nullptr) {
  std::ostringstream why;
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const Entity& g = got[i];
    const WantEntity& w = want[i];
    const double err = std::fabs(double(g.score) - w.score);
    if (worst_score) *worst_score = std::max(*worst_score, err);
    if (g.label != w.label || g.word != w.word || g.start != w.start || g.end != w.end ||
        g.byte_start != w.start_bytes || g.byte_end != w.end_bytes || g.index != w.index || !(err <= tolerance)) {
      why << "entity " << i << ": got {" << g.label << ", '" << g.word << "', [" << g.start << "," << g.end << "), bytes ["
          << g.byte_start << "," << g.byte_end << "), index " << g.index << ", score " << g.score << "}, want {"
          << w.label << ", '" << w.word << "', [" << w.start << "," << w.end << "), bytes [" << w.start_bytes << ","
          << w.end_bytes << "), index " << w.index << ", score " << w.score << "}";
      return why.str();
    }
  }
  if (got.size() != want.size()) {
    why << got.size() << " entities, want " << want.size();
    return why.str();
  }
  return "";
}

std::vector<WantEntity> as_wanted(const std::vector<Entity>& entities) {
  std::vector<WantEntity> out;
  for (const Entity& e : entities) {
    WantEntity w;
    w.label = e.label;
    w.word = e.word;
    w.score = e.score;
    w.index = e.index;
    w.start = e.start;
    w.end = e.end;
    w.start_bytes = e.byte_start;
    w.end_bytes = e.byte_end;
    out.push_back(w);
  }
  return out;
}

/// "" when `e` tokenizes the case's text as Hugging Face did (for a truncated case: its first
/// 511 tokens, then [SEP]).
std::string tokenization_difference(const Encoding& e, const Case& c) {
  const std::size_t n = c.ids.size();
  if (c.truncated ? e.size() <= n : e.size() != n) return "got " + std::to_string(e.size()) + " tokens, want " + std::to_string(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = c.truncated && k == n - 1 ? e.size() - 1 : k; // [SEP]
    if (e.ids[i] != c.ids[k] || e.offsets[i] != c.offsets[k] || e.byte_offsets[i] != c.byte_offsets[k] ||
        e.special_tokens_mask[i] != c.special[k] || e.tokens[i] != c.tokens[k])
      return "token " + std::to_string(k) + ": got id " + std::to_string(e.ids[i]) + " '" + e.tokens[i] + "' [" +
             std::to_string(e.offsets[i].first) + "," + std::to_string(e.offsets[i].second) + "), want id " +
             std::to_string(c.ids[k]) + " '" + c.tokens[k] + "' [" + std::to_string(c.offsets[k].first) + "," +
             std::to_string(c.offsets[k].second) + ")";
  }
  return "";
}

/// HF's truncation: the first model_max_length - 2 content tokens, then [SEP].
Encoding truncate(const Encoding& e, std::size_t max_length) {
  if (e.size() <= max_length) return e;
  Encoding t;
  auto take = [&](std::size_t k) {
    t.ids.push_back(e.ids[k]);
    t.tokens.push_back(e.tokens[k]);
    t.offsets.push_back(e.offsets[k]);
    t.byte_offsets.push_back(e.byte_offsets[k]);
    t.special_tokens_mask.push_back(e.special_tokens_mask[k]);
  };
  for (std::size_t k = 0; k + 1 < max_length; ++k) take(k);
  take(e.size() - 1);
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// golden/base converted with the tokenizer.json of `tokenizer_dir` ("golden/base" or
/// "golden/tokenizer-reconverted").
std::string convert_base(const TempDir& dir, const std::string& name, const std::string& tokenizer_dir) {
  const std::string folder = dir / name;
  REQUIRE(::mkdir(folder.c_str(), 0777) == 0);
  albertner_test::link_fixture_files("base", folder, {"tokenizer.json"});
  const std::string tokenizer = shared_path(tokenizer_dir + "/tokenizer.json");
  REQUIRE(::symlink(tokenizer.c_str(), (folder + "/tokenizer.json").c_str()) == 0);
  const std::string out = dir / (name + ".albertner");
  albertner_test::convert_or_fail(folder, out);
  return out;
}

Tagger<> open_tagger(const std::string& path, TaggerOptions options) {
  auto t = Tagger<>::open(path, std::move(options));
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().what()));
  return std::move(t).value();
}

/// Logits by token ids, shared by the two variants.
std::map<std::vector<std::int32_t>, std::vector<float>>& logits_cache() {
  static std::map<std::vector<std::int32_t>, std::vector<float>> cache;
  return cache;
}

/// Every case and strategy of golden/<variant> through the model file `model`.
void check_variant(const std::string& variant, const std::string& model, bool whitespace_split) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Case> cases = load_cases(variant);
  REQUIRE(cases.size() == 60);
  TaggerOptions options;
  options.threads = 2;
  Tagger<> tagger = open_tagger(model, options);
  CHECK(tagger.tokenizer().options().whitespace_split == whitespace_split);
  CHECK(tagger.options().window == 512);
  const std::size_t L = tagger.labels().size();
  REQUIRE(L == 9);

  // Tokens and offsets.
  std::vector<Encoding> full, model_inputs;
  std::size_t same_tokens = 0;
  for (const Case& c : cases) {
    CAPTURE(c.id);
    auto e = tagger.tokenizer().encode(c.text);
    REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.error().what()));
    const std::string diff = tokenization_difference(*e, c);
    CHECK_MESSAGE(diff.empty(), diff);
    same_tokens += diff.empty();
    CHECK((e->size() > c.ids.size()) == c.truncated);
    model_inputs.push_back(truncate(*e, 512));
    full.push_back(std::move(e).value());
  }
  MESSAGE(variant << "/tokens: " << same_tokens << "/" << cases.size() << " identical (ids, tokens, offsets in code points and bytes)");

  // Logits once for every case (the truncated one as HF truncated it: a single 512-token window).
  // Both variants' model files hold golden/base's weights bit for bit (test_converted_model), so
  // token sequences the other variant already ran are not run again.
  const auto t_logits = std::chrono::steady_clock::now();
  std::vector<Encoding> to_run;
  std::vector<std::size_t> run_index(cases.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    if (!logits_cache().count(model_inputs[i].ids)) {
      run_index[i] = to_run.size();
      to_run.push_back(model_inputs[i]);
    }
  auto computed = tagger.document_logits(to_run);
  REQUIRE_MESSAGE(computed.ok(), (computed.ok() ? "" : computed.error().what()));
  std::vector<std::vector<float>> logits_storage(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (run_index[i] < cases.size()) logits_cache()[model_inputs[i].ids] = (*computed)[run_index[i]];
    logits_storage[i] = logits_cache().at(model_inputs[i].ids);
  }
  const std::vector<std::vector<float>>* logits = &logits_storage;
  const double logits_seconds = seconds_since(t_logits);
  MESSAGE(variant << "/logits: computed for " << to_run.size() << " texts, " << cases.size() - to_run.size()
                  << " token sequences already run for the other variant");
  double worst_logit = 0;
  std::size_t argmax_same = 0, argmax_total = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    REQUIRE((*logits)[i].size() == cases[i].ids.size() * L);
    for (std::size_t k = 0; k < cases[i].ids.size(); ++k) {
      if (cases[i].special[k]) continue;
      const float* got = (*logits)[i].data() + k * L;
      const float* want = cases[i].logits.data() + k * L;
      for (std::size_t j = 0; j < L; ++j) worst_logit = std::max(worst_logit, std::fabs(double(got[j]) - want[j]));
      argmax_same += albertner_test::argmax(got, got + L) == albertner_test::argmax(want, want + L);
      ++argmax_total;
    }
  }
  MESSAGE(variant << "/logits: max abs error " << worst_logit << " over " << argmax_total << " tokens; argmax same on "
                  << argmax_same << "/" << argmax_total << "; " << logits_seconds << " s");
  CHECK(worst_logit <= 5e-4);

  // Entities, every strategy, decoded from our logits and (as a control) from HF's stored ones.
  for (int s = 0; s < 5; ++s) {
    const Aggregation strategy = kStrategies[s];
    const std::string name = variant + "/" + albertner::aggregation_name(strategy);
    albertner::DecodeOptions decode{strategy, {"O"}, tagger.tokenizer().unk_id()};
    std::size_t identical = 0, from_stored = 0, entities = 0;
    double worst_score = 0;
    std::vector<std::string> near_ties;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(name);
      CAPTURE(c.id);
      const auto infos = tagger.token_infos(model_inputs[i]);
      auto got = albertner::decode_entities(c.text, infos, (*logits)[i].data(), L, tagger.labels(), decode);
      REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.error().what()));
      auto control = albertner::decode_entities(c.text, infos, c.logits.data(), L, tagger.labels(), decode);
      REQUIRE(control.ok());
      entities += got->size();
      if (!c.has_entities[s]) {
        // The reference raised (first/average/max on a text without tokens): we return nothing.
        CHECK(got->empty());
        CHECK(control->empty());
        identical += got->empty();
        from_stored += control->empty();
        continue;
      }
      const std::string control_diff = difference(*control, c.entities[s], 1e-6);
      CHECK_MESSAGE(control_diff.empty(), "from HF's logits: " << control_diff);
      from_stored += control_diff.empty();
      const std::string diff = difference(*got, c.entities[s], kScoreTolerance, &worst_score);
      if (diff.empty()) {
        ++identical;
      } else if (c.min_prob_margin < kNearTie) {
        near_ties.push_back(c.id + " (min_prob_margin " + std::to_string(c.min_prob_margin) + "): " + diff);
      } else {
        FAIL_CHECK(diff);
      }
    }
    MESSAGE(name << ": " << identical << "/" << cases.size() << " identical (" << entities
                 << " entities, max score error " << worst_score << "); from HF's stored logits " << from_stored << "/"
                 << cases.size());
    for (const std::string& t : near_ties) MESSAGE(name << ": near tie allowed: " << t);
    CHECK(identical + near_ties.size() == cases.size());
  }

  // The public path, Tagger::tag / tag_batch with each strategy, on a few cases.
  const std::vector<std::string> few = {"conll-valid-0000", "extra-public-03", "tricky-public-040", "tricky-public-110",
                                        "tricky-public-138", "tricky-public-140", "tricky-public-027"};
  std::vector<const Case*> picked;
  std::vector<std::string> texts;
  for (const Case& c : cases)
    if (std::find(few.begin(), few.end(), c.id) != few.end()) {
      picked.push_back(&c);
      texts.push_back(c.text);
    }
  REQUIRE(picked.size() == few.size());
  for (int s = 0; s < 5; ++s) {
    TaggerOptions o;
    o.aggregation = kStrategies[s];
    Tagger<> t = open_tagger(model, o);
    const std::string name = variant + "/" + albertner::aggregation_name(kStrategies[s]);
    auto batch = t.tag_batch(texts);
    REQUIRE_MESSAGE(batch.ok(), (batch.ok() ? "" : batch.error().what()));
    REQUIRE(batch->size() == picked.size());
    std::size_t identical = 0;
    for (std::size_t i = 0; i < picked.size(); ++i) {
      CAPTURE(name);
      CAPTURE(picked[i]->id);
      const std::string diff = picked[i]->has_entities[s] ? difference((*batch)[i], picked[i]->entities[s], kScoreTolerance)
                                                          : ((*batch)[i].empty() ? "" : "entities where HF raised");
      CHECK_MESSAGE(diff.empty(), diff);
      identical += diff.empty();
      auto one = t.tag(picked[i]->text);
      REQUIRE(one.ok());
      const std::string alone = difference(*one, as_wanted((*batch)[i]), 1e-5);
      CHECK_MESSAGE(alone.empty(), "tag() vs tag_batch(): " << alone);
    }
    MESSAGE(name << ": Tagger::tag_batch " << identical << "/" << picked.size() << " identical");
  }

  // The 3,000-character paragraph: HF truncated it; the Tagger windows it and tags all of it.
  const Case* longest = nullptr;
  std::size_t longest_index = 0;
  for (std::size_t i = 0; i < cases.size(); ++i)
    if (cases[i].truncated) {
      longest = &cases[i];
      longest_index = i;
    }
  REQUIRE(longest);
  {
    TaggerOptions o;
    o.aggregation = Aggregation::none;
    o.threads = 2;
    Tagger<> t = open_tagger(model, o);
    auto all = t.tag(longest->text);
    REQUIRE(all.ok());
    const std::size_t tokens = full[longest_index].size();
    std::int64_t last_index = 0;
    for (const Entity& e : *all) last_index = std::max(last_index, e.index);
    MESSAGE(variant << ": the " << longest->text.size() << "-byte paragraph has " << tokens << " tokens; HF kept 512, the Tagger tagged "
                    << all->size() << " tokens as entities, the last at index " << last_index);
    CHECK(last_index >= 512);
    CHECK(last_index < static_cast<std::int64_t>(tokens) - 1);
    // Tokens the first window owns were computed exactly as in HF's truncated run.
    const std::size_t content = tokens - 2;
    auto windows = albertner::plan_windows(content, {512, 128});
    REQUIRE(windows.ok());
    REQUIRE(windows->size() == 2);
    const auto owner = albertner::assign_tokens_to_windows(*windows, content);
    std::vector<Entity> first_window;
    for (const Entity& e : *all)
      if (owner[static_cast<std::size_t>(e.index) - 1] == 0) first_window.push_back(e);
    std::vector<WantEntity> want;
    for (const WantEntity& w : longest->entities[0])
      if (owner[static_cast<std::size_t>(w.index) - 1] == 0) want.push_back(w);
    CHECK(want.size() > 200);
    const std::string diff = difference(first_window, want, kScoreTolerance);
    CHECK_MESSAGE((diff.empty() || longest->min_prob_margin < kNearTie), diff);
  }
  MESSAGE(variant << ": " << seconds_since(t0) << " s in all");
}

struct Models {
  TempDir dir{"pipeline"};
  std::string hub, reconverted;
  Models() {
    hub = convert_base(dir, "hub", "golden/base");
    reconverted = convert_base(dir, "reconverted", "golden/tokenizer-reconverted");
  }
};

Models& models() {
  static Models m;
  return m;
}

} // namespace

TEST_CASE("pipeline (Hub tokenizer.json): tokens, offsets and entities of all five strategies are Hugging Face's") {
  if (!albertner_test::have_shared("golden/pipeline") || !albertner_test::have_shared("golden/base")) return;
  check_variant("pipeline", models().hub, true);
}

TEST_CASE("pipeline (re-converted tokenizer.json): tokens, offsets and entities of all five strategies are Hugging Face's") {
  if (!albertner_test::have_shared("golden/pipeline-reconverted") || !albertner_test::have_shared("golden/base") ||
      !albertner_test::have_shared("golden/tokenizer-reconverted"))
    return;
  check_variant("pipeline-reconverted", models().reconverted, false);
}

namespace {

const std::string kBundledModel = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";
const std::string kLamb = "EU rejects German call to boycott British lamb .";

/// A decoder of one's own (static decode): the pipeline's entities of one label only.
struct MiscOnly {
  static albertner::Result<std::vector<Entity>> decode(const std::string& text,
                                                       const std::vector<albertner::TokenInfo>& tokens,
                                                       const float* logits, std::size_t num_labels,
                                                       const std::vector<std::string>& labels,
                                                       const albertner::DecodeOptions& options) {
    ALBERTNER_TRY(std::vector<Entity> all,
                  albertner::SpanDecoder::decode(text, tokens, logits, num_labels, labels, options));
    std::vector<Entity> kept;
    for (Entity& e : all)
      if (e.label == "MISC") kept.push_back(std::move(e));
    return kept;
  }
};

/// A decoder (const member) that returns what it was given, so that the test sees it used: one
/// entity per text labelled with the options' aggregation and the label count, or an error for
/// a text that says so.
struct Echo {
  albertner::Result<std::vector<Entity>> decode(const std::string& text,
                                                const std::vector<albertner::TokenInfo>& tokens, const float* logits,
                                                std::size_t num_labels, const std::vector<std::string>& labels,
                                                const albertner::DecodeOptions& options) const {
    if (text == "fail") return albertner::Error(albertner::errc::invalid_input, "echo refuses");
    Entity e;
    e.label = std::string(albertner::aggregation_name(options.aggregation)) + "/" + std::to_string(num_labels) + "/" +
              std::to_string(labels.size()) + (options.constrained ? "/constrained" : "");
    e.index = static_cast<std::int64_t>(tokens.size());
    e.score = logits != nullptr ? logits[num_labels] : -1.0f; // the first content token's first logit
    e.text = text;
    return std::vector<Entity>{e};
  }
};

} // namespace

TEST_CASE("Tagger<Decoder>: the bundled model's logits go through the decoder the Tagger names") {
  TaggerOptions options;
  options.aggregation = Aggregation::first;
  Tagger<> standard = open_tagger(kBundledModel, options);
  static_assert(std::is_same<Tagger<>, Tagger<albertner::SpanDecoder>>::value, "SpanDecoder is the default");

  SUBCASE("a filtering decoder keeps what it keeps of SpanDecoder's entities") {
    auto misc = Tagger<MiscOnly>::open(kBundledModel, options);
    REQUIRE(misc.ok());
    auto all = standard.tag(kLamb);
    auto got = misc->tag(kLamb);
    REQUIRE(all.ok());
    REQUIRE(got.ok());
    std::ostringstream want_text, got_text;
    for (const Entity& e : *all)
      if (e.label == "MISC") want_text << e.text << "/" << e.label << "/" << e.score << " ";
    for (const Entity& e : *got) got_text << e.text << "/" << e.label << "/" << e.score << " ";
    CHECK(got_text.str() == want_text.str());
    REQUIRE(got->size() == 2); // of EU/ORG German/MISC British/MISC
    CHECK((*got)[0].text == "German");
    CHECK((*got)[1].text == "British");
  }

  SUBCASE("the decoder's result is the call's result; its arguments are the call's") {
    auto echo = Tagger<Echo>::open(kBundledModel, options);
    REQUIRE(echo.ok());
    auto one = echo->tag(kLamb);
    REQUIRE(one.ok());
    REQUIRE(one->size() == 1);
    CHECK((*one)[0].label == "first/9/9");
    CHECK((*one)[0].text == kLamb);
    std::vector<albertner::Encoding> encodings{*echo->tokenizer().encode(kLamb)};
    auto logits = echo->document_logits(encodings);
    REQUIRE(logits.ok());
    CHECK(static_cast<std::size_t>((*one)[0].index) == encodings[0].size());
    CHECK((*one)[0].score == (*logits)[0][9]);

    albertner::CallOptions call;
    call.aggregation = Aggregation::max;
    call.constrained = true;
    auto batch = echo->tag_batch({"a", kLamb}, call);
    REQUIRE(batch.ok());
    REQUIRE(batch->size() == 2);
    CHECK((*batch)[1][0].label == "max/9/9/constrained");
    CHECK((*batch)[0][0].text == "a");

    auto failed = echo->tag_batch({kLamb, "fail"});
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code() == albertner::errc::invalid_input);
    CHECK(failed.error().what() == "invalid_input: text 1: echo refuses");
  }
}
