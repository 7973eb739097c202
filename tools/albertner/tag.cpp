// albertner tag [-m MODEL] [-i INPUT] [-o OUTPUT] [--input-format text|jsonl] [--format json|jsonl|conll|pretty|html]
//               [--aggregation none|simple|first|average|max] [--on-error stop|skip] [TEXT...]
// Streams: reads a batch of lines, tags it, writes its records, flushes, reads on.
#include "cli.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include <utf8proc.h>

namespace albertner_cli {

namespace {
struct TagArgs {
  std::string model, input = "-", output, input_format = "text", format = "json", aggregation, color = "auto",
                     on_error = "stop";
  std::string first;
  std::vector<std::string> texts;
  std::int64_t window = 0, overlap = -1, batch = 8, threads = 1;
  ProgressFlags progress;
  bool input_given = false, aggregation_given = false, constrained = false;
};

using albertner::Entity;
using albertner::Json;
using albertner::json_escape_to;

std::string entity_json(const Entity& e, bool with_index) {
  std::string out = with_index ? "{\"entity\":" : "{\"entity_group\":";
  json_escape_to(out, e.label);
  out += ",\"score\":";
  append_float(out, e.score);
  if (with_index) out += ",\"index\":" + std::to_string(e.index);
  out += ",\"word\":";
  json_escape_to(out, e.word);
  out += ",\"start\":" + std::to_string(e.start) + ",\"end\":" + std::to_string(e.end) +
         ",\"byte_start\":" + std::to_string(e.byte_start) + ",\"byte_end\":" + std::to_string(e.byte_end) +
         ",\"text\":";
  json_escape_to(out, e.text);
  return out + "}";
}

std::string entities_json(const std::vector<Entity>& entities, bool with_index) {
  std::string out = "[";
  for (std::size_t i = 0; i < entities.size(); ++i) out += (i ? "," : "") + entity_json(entities[i], with_index);
  return out + "]";
}

std::string type_of(const std::string& label) {
  const std::size_t dash = label.find('-');
  return dash == std::string::npos ? label : label.substr(dash + 1);
}

// Walks the text, calling plain(slice) between entities and mark(e, shown) on each, where shown is
// the part of the entity's text not already marked: entities are sorted, and where two overlap (a
// lone "▁" token has the span of the piece after it) the earlier one keeps the shared characters.
template <class Plain, class Mark>
void weave(const std::string& text, const std::vector<Entity>& entities, Plain plain, Mark mark) {
  std::size_t at = 0;
  for (const Entity& e : entities) {
    if (e.byte_end <= at || e.byte_start >= e.byte_end || e.byte_end > text.size()) continue;
    const std::size_t from = std::max(at, e.byte_start);
    plain(text.substr(at, from - at));
    mark(e, text.substr(from, e.byte_end - from));
    at = e.byte_end;
  }
  plain(text.substr(at));
}

// With colour: the entity in its type's colour, then a dim [TYPE]. Without: [entity](TYPE).
std::string pretty(const std::string& text, const std::vector<Entity>& entities, bool colour) {
  static const char* colours[] = {"\x1b[1;34m", "\x1b[1;32m", "\x1b[1;35m", "\x1b[1;33m", "\x1b[1;36m"};
  std::string out;
  weave(
      text, entities, [&](const std::string& s) { out += s; },
      [&](const Entity& e, const std::string& shown) {
        const std::string type = type_of(e.label);
        if (!colour) {
          out += "[" + shown + "](" + type + ")";
          return;
        }
        const std::string c = type == "PER"    ? colours[0]
                              : type == "ORG"  ? colours[1]
                              : type == "LOC"  ? colours[2]
                              : type == "MISC" ? colours[3]
                                               : colours[4];
        out += c + shown + "\x1b[0m\x1b[2m[" + type + "]\x1b[0m";
      });
  return out + "\n";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

const char* html_head() {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>albertner entities</title>\n<style>"
         "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:2.4}"
         "p.doc{white-space:pre-wrap;border-bottom:1px solid #ddd;padding-bottom:1em}"
         "mark.entity{padding:.2em .35em;border-radius:.35em;background:#ddd}"
         "mark.entity .label{font-size:.65em;font-weight:bold;margin-left:.4em;text-transform:uppercase}"
         "mark[data-label=PER]{background:#aa9cfc}mark[data-label=ORG]{background:#7aecec}"
         "mark[data-label=LOC]{background:#ff9561}mark[data-label=MISC]{background:#ffeb80}"
         "footer.legend{margin-top:1em}"
         "</style></head><body>\n";
}

// The direction of a text, by its first strong character (Unicode bidi class L, or R/AL): "ltr",
// "rtl", or "auto" when it has none. Computed here rather than left to dir="auto", which skips the
// <bdi> elements and so would miss a line whose first words are entities.
const char* text_direction(const std::string& text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t c = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n <= 0) break;
    const int bidi = utf8proc_get_property(c)->bidi_class;
    if (bidi == UTF8PROC_BIDI_CLASS_L) return "ltr";
    if (bidi == UTF8PROC_BIDI_CLASS_R || bidi == UTF8PROC_BIDI_CLASS_AL) return "rtl";
    p += n;
    left -= n;
  }
  return "auto";
}

// One document in its own direction, each entity isolated (<bdi>) so that an Arabic or Hebrew
// entity is not reordered with the text around it.
std::string html_doc(const std::string& text, const std::vector<Entity>& entities, std::set<std::string>& types) {
  std::string out = std::string("<p class=\"doc\" dir=\"") + text_direction(text) + "\">";
  weave(
      text, entities, [&](const std::string& s) { out += html_escape(s); },
      [&](const Entity& e, const std::string& shown) {
        char score[16];
        std::snprintf(score, sizeof score, "%.3f", static_cast<double>(e.score));
        const std::string type = html_escape(type_of(e.label));
        types.insert(type);
        out += "<mark class=\"entity\" data-label=\"" + type + "\" title=\"" + type + " " + score + "\"><bdi>" +
               html_escape(shown) + "</bdi><span class=\"label\">" + type + "</span></mark>";
      });
  return out + "</p>\n";
}

// The legend: one sample mark per entity type on the page.
std::string html_tail(const std::set<std::string>& types) {
  std::string out = "<footer class=\"legend\">Legend:";
  for (const std::string& t : types)
    out += " <mark class=\"legend\" data-label=\"" + t + "\"><span class=\"label\">" + t + "</span></mark>";
  if (types.empty()) out += " no entities";
  return out + "</footer>\n</body></html>\n";
}

// CoNLL lines: one per whitespace-separated word, with its first piece's label (as `eval` scores
// a word); a word that gave no token (a control character alone) is O. `tokens` are the
// aggregation-none entities with O kept, in token order.
std::string conll_lines(const std::string& text, const std::vector<Entity>& tokens) {
  std::string out;
  std::size_t k = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  for (std::size_t i = 0; i < text.size();) {
    if (space(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && !space(text[end])) ++end;
    while (k < tokens.size() && tokens[k].byte_end <= i) ++k;
    const std::string label = k < tokens.size() && tokens[k].byte_start < end ? tokens[k].label : "O";
    out += text.substr(i, end - i) + "\t" + label + "\n";
    i = end;
  }
  return out + "\n";
}

// One input record: its line, its text, the other fields of a JSON line; or why it is bad.
struct Record {
  std::size_t line = 0;
  std::string text;
  const Json* object = nullptr; // jsonl input: &parsed, set once the record has its place
  Json parsed;                  // jsonl input: the line, when it is a JSON object
  std::string error;
  std::vector<Entity> entities;
};

// The fields of `object` (else "text": `text`) except "entities" and "error", then `tail`.
std::string jsonl_record(const Json* object, const std::string* text, const std::string& tail) {
  std::string out = "{";
  if (object) {
    for (const auto& m : object->members()) {
      if (m.first == "entities" || m.first == "error" || m.first == "line") continue;
      json_escape_to(out, m.first);
      out += ':';
      m.second.dump_to(out);
      out += ',';
    }
  } else if (text) {
    out += "\"text\":";
    json_escape_to(out, *text);
    out += ',';
  }
  return out + tail + "}\n";
}

class Tag {
public:
  explicit Tag(const TagArgs& a) : a_(a) {}

  int run() {
    const bool conll = a_.format == "conll";
    if (conll && a_.aggregation_given)
      return usage(
          "--aggregation does not apply to --format conll: it writes one line per word with the label of "
          "the word's first piece (as eval scores it)");
    if (a_.input_given && !positionals_texts().empty())
      return usage("give texts either as arguments or with -i/--input, not both");

    albertner::TaggerOptions options;
    if (!a_.aggregation.empty()) {
      auto aggregation = albertner::parse_aggregation(a_.aggregation);
      if (!aggregation.ok()) return usage("--aggregation: " + aggregation.error().message());
      options.aggregation = *aggregation;
    }
    options.constrained = a_.constrained;
    options.window = static_cast<std::size_t>(a_.window);
    options.overlap = a_.overlap < 0 ? albertner::TaggerOptions::auto_size : static_cast<std::size_t>(a_.overlap);
    options.batch_size = static_cast<std::size_t>(a_.batch);
    options.threads = static_cast<std::size_t>(a_.threads);

    auto model = open_model(model_path());
    if (!model.ok()) return fail(model.error());
    auto tagger = albertner::Tagger<>::from_model(std::move(model).value(), options);
    if (!tagger.ok()) return fail(tagger.error().with_context(model_path()));
    tagger_ = std::move(tagger).value();
    if (conll) {
      call_.aggregation = albertner::Aggregation::none;
      call_.ignore_labels = std::vector<std::string>{};
    }
    with_index_ = conll || *tagger_.options().aggregation == albertner::Aggregation::none;
    colour_ = a_.color == "always" || (a_.color == "auto" && !a_.output.size() && ::isatty(STDOUT_FILENO) &&
                                       !(std::getenv("NO_COLOR") && *std::getenv("NO_COLOR")));

    auto out = Output::open(a_.output);
    if (!out.ok()) return fail(out.error());
    out_ = std::move(out).value();

    const int status = positionals_texts().empty() ? run_input() : run_arguments();
    // -o is all or nothing: a run that fails leaves no file (stdout has the records before the failure).
    if (status == kExitError) return status;
    if (a_.format == "html" && status != kExitError) {
      const int s = emit((html_started_ ? "" : html_head()) + html_tail(types_));
      if (s) return s;
    }
    albertner::Status st = out_->commit();
    if (!st.ok()) return fail(st.error());
    return status;
  }

private:
  std::string model_path() const {
    std::vector<std::string> texts = a_.texts;
    return take_model(a_.model, texts);
  }
  std::vector<std::string> positionals_texts() const {
    std::vector<std::string> texts = a_.texts;
    take_model(a_.model, texts);
    return texts;
  }

  int emit(const std::string& s) {
    albertner::Status st = out_->write(s);
    return st.ok() ? 0 : fail(st.error());
  }

  int run_arguments() {
    const std::vector<std::string> texts = positionals_texts();
    std::vector<Record> batch;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      Record r;
      r.line = i + 1;
      r.text = texts[i];
      batch.push_back(std::move(r));
    }
    return process(batch, "argument");
  }

  int run_input() {
    auto reader = LineReader::open(a_.input);
    if (!reader.ok()) return fail(reader.error());
    LineReader& in = **reader;
    const std::size_t chunk =
        std::max<std::size_t>(64, static_cast<std::size_t>(a_.batch) * static_cast<std::size_t>(a_.threads) * 4);
    ProgressLine progress(a_.progress.enabled(), "tag", "lines");
    std::vector<Record> batch;
    std::string line;
    std::size_t done = 0;
    int status = 0;
    for (bool end = false; !end;) {
      batch.clear();
      albertner::Status read_error = albertner::ok_status();
      while (batch.size() < chunk) {
        auto got = in.next(line, batch.empty());
        if (!got.ok()) {
          read_error = got.error();
          end = true;
          break;
        }
        if (*got == LineReader::Got::end) end = true;
        if (*got != LineReader::Got::line) break;
        Record r;
        r.line = in.line_number();
        if (a_.input_format == "jsonl") {
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue; // blank lines hold no record
          read_json(r, line, in.name());
        } else {
          r.text = std::move(line);
        }
        batch.push_back(std::move(r));
      }
      const int s = process(batch, in.name() + " line");
      done += batch.size();
      progress.update(done, in.size() ? static_cast<double>(in.bytes_read()) / static_cast<double>(in.size()) : -1);
      if (s == kExitError) return s;
      status = std::max(status, s);
      if (!read_error.ok()) return fail(read_error.error());
    }
    progress.finish(done);
    return status;
  }

  void read_json(Record& r, const std::string& line, const std::string& name) {
    const std::string where = name + " line " + std::to_string(r.line);
    auto j = parse_json_line(line, where);
    if (!j.ok()) {
      r.error = j.error().message();
      return;
    }
    r.parsed = std::move(j).value();
    const Json* text = r.parsed.find("text");
    if (!text || !text->is_string()) {
      r.error = where + ": expected {\"text\": string, ...}";
      return;
    }
    r.text = text->as_string();
  }

  // Tags the good records of `batch` (one call; one by one when it fails, to find the bad ones)
  // and writes every record in order, stopping at the first bad one unless --on-error skip.
  int process(std::vector<Record>& batch, const std::string& where) {
    std::vector<std::string> texts;
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i].object = batch[i].parsed.is_object() ? &batch[i].parsed : nullptr; // the vector may have moved
      if (batch[i].error.empty()) {
        texts.push_back(batch[i].text);
        at.push_back(i);
      }
    }
    auto all = tagger_.tag_batch(texts, call_);
    if (all.ok()) {
      for (std::size_t k = 0; k < at.size(); ++k) batch[at[k]].entities = std::move((*all)[k]);
    } else {
      for (std::size_t k = 0; k < at.size(); ++k) {
        auto one = tagger_.tag(texts[k], call_);
        if (one.ok()) batch[at[k]].entities = std::move(one).value();
        else {
          std::string message = one.error().message();
          if (message.rfind("text 0: ", 0) == 0) message.erase(0, 8);
          batch[at[k]].error = where + " " + std::to_string(batch[at[k]].line) + ": " + message;
        }
      }
    }
    // The page's head goes out with its first document, so that a run that fails at once writes nothing.
    std::string out = a_.format == "html" && !html_started_ && !batch.empty() ? html_head() : "";
    html_started_ = html_started_ || !out.empty();
    int status = 0;
    for (Record& r : batch) {
      if (!r.error.empty()) {
        if (a_.on_error == "stop") {
          const int s = records_written_ ? emit(out) : 0; // out holds no more than the page's head otherwise
          if (s) return s;
          return fail(r.error);
        }
        std::fprintf(stderr, "albertner: warning: %s (skipped)\n", r.error.c_str());
        status = kExitSkipped;
        std::string tail = "\"error\":";
        json_escape_to(tail, r.error);
        tail += ",\"line\":" + std::to_string(r.line);
        if (a_.format == "json" || a_.format == "jsonl") out += jsonl_record(r.object, nullptr, tail);
        continue;
      }
      ++records_written_;
      if (a_.format == "json") out += entities_json(r.entities, with_index_) + "\n";
      else if (a_.format == "jsonl")
        out += jsonl_record(r.object, &r.text, "\"entities\":" + entities_json(r.entities, with_index_));
      else if (a_.format == "conll") out += conll_lines(r.text, r.entities);
      else if (a_.format == "pretty") out += pretty(r.text, r.entities, colour_);
      else out += html_doc(r.text, r.entities, types_);
    }
    const int s = emit(out);
    return s ? s : status;
  }

  const TagArgs& a_;
  albertner::Tagger<> tagger_;
  albertner::CallOptions call_;
  std::unique_ptr<Output> out_;
  std::set<std::string> types_;
  std::size_t records_written_ = 0;
  bool with_index_ = false, colour_ = false, html_started_ = false;
};
} // namespace

void add_tag(CLI::App& app) {
  auto args = std::make_shared<TagArgs>();
  CLI::App* cmd = app.add_subcommand("tag", "Find entities in text: one output record per input line, as it arrives");
  // Two positionals, so that texts may follow "--" after a model given as the first argument.
  CLI::Option* first = cmd->add_option("FIRST", args->first, "The model (a file, see TEXT) or the first text");
  cmd->add_option("TEXT", args->texts,
                  "Texts to tag (default: the lines of -i/--input); without -m, a first argument ending in "
                  ".safetensors or naming a file is the model");
  add_model_option(cmd, args->model);
  CLI::Option* input =
      cmd->add_option("-i,--input", args->input, "Input file, one record per line (- : stdin)")->capture_default_str();
  add_output_option(cmd, args->output);
  cmd->add_option("--input-format", args->input_format,
                  "text: one text per line; jsonl: one object with \"text\" per line, its other fields copied into "
                  "the output record (--format jsonl)")
      ->check(CLI::IsMember({"text", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("--format", args->format,
                  "json: one list of entities per line; jsonl: one object per line (the input's fields + "
                  "\"entities\"); conll: WORD<TAB>LABEL per word; pretty: the text marked up; html: one page")
      ->check(CLI::IsMember({"json", "jsonl", "conll", "pretty", "html"}))
      ->capture_default_str();
  CLI::Option* aggregation =
      cmd->add_option("--aggregation", args->aggregation,
                      "none, simple, first, average or max (default: the model's recommendation, else simple)")
          ->check(CLI::IsMember({"none", "simple", "first", "average", "max"}));
  cmd->add_flag("--constrained", args->constrained,
                "Label tokens (none, simple, conll) or words (first, average, max) with the most probable valid "
                "IOB2 sequence (Viterbi; I-X only after B-X or I-X). Not in Hugging Face's pipeline");
  cmd->add_option("--on-error", args->on_error,
                  "A bad line (invalid UTF-8, bad JSON): stop (exit 1 after the records before it) or skip (an "
                  "error record in its place; exit 3 at the end)")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  cmd->add_option("--color,--colour", args->color,
                  "pretty: auto (on a terminal, unless NO_COLOR is set), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_tagger_options(cmd, args->window, args->overlap, args->batch, args->threads, "text", "eval");
  args->progress.add(cmd);
  cmd->callback([args, first, input, aggregation] {
    if (first->count() > 0) args->texts.insert(args->texts.begin(), args->first);
    args->input_given = input->count() > 0;
    args->aggregation_given = aggregation->count() > 0;
    exit_status() = Tag(*args).run();
  });
}

} // namespace albertner_cli
