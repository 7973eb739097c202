// albertner tag [MODEL] [--aggregation none|simple|first|average|max] [--format json|jsonl|conll|pretty|html] [TEXT...]
#include "cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace albertner_cli {

namespace {
struct TagArgs {
  std::string aggregation = "simple", format = "json";
  std::vector<std::string> texts;
  std::size_t window = 0, overlap = albertner::TaggerOptions::auto_size, batch = 8, threads = 1;
};

// The first positional is the model when it ends in .safetensors (a missing one is then an error,
// not text) or names an existing file; otherwise every positional is text and the bundled model
// (or $ALBERTNER_MODEL) tags it.
bool names_model(const std::string& s) {
  const std::string suffix = ".safetensors";
  const bool named = s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  return named || albertner::detail::file_exists(s);
}

std::string default_model() {
  if (const char* env = std::getenv("ALBERTNER_MODEL")) return env;
  for (const char* path : {ALBERTNER_BUILD_TREE_MODEL, ALBERTNER_INSTALLED_MODEL})
    if (albertner::detail::file_exists(path)) return path;
  return ALBERTNER_INSTALLED_MODEL;
}

using albertner::Entity;
using albertner::detail::Json;
using albertner::detail::json_escape_to;

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

std::string pretty(const std::string& text, const std::vector<Entity>& entities) {
  static const char* colours[] = {"\x1b[1;34m", "\x1b[1;32m", "\x1b[1;35m", "\x1b[1;33m", "\x1b[1;36m", "\x1b[1;31m"};
  std::string out;
  weave(
      text, entities, [&](const std::string& s) { out += s; },
      [&](const Entity& e, const std::string& shown) {
        const std::string type = type_of(e.label);
        const std::string colour = type == "PER"    ? colours[0]
                                   : type == "ORG"  ? colours[1]
                                   : type == "LOC"  ? colours[2]
                                   : type == "MISC" ? colours[3]
                                                    : colours[4];
        out += colour + shown + "\x1b[0m\x1b[2m[" + type + "]\x1b[0m";
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

std::string html_page(const std::vector<std::string>& texts, const std::vector<std::vector<Entity>>& all) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>albertner entities</title>\n<style>"
      "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:2.4}"
      "p.doc{white-space:pre-wrap;border-bottom:1px solid #ddd;padding-bottom:1em}"
      "mark.entity{padding:.2em .35em;border-radius:.35em;background:#ddd}"
      "mark.entity .label{font-size:.65em;font-weight:bold;margin-left:.4em;text-transform:uppercase}"
      "mark[data-label=PER]{background:#aa9cfc}mark[data-label=ORG]{background:#7aecec}"
      "mark[data-label=LOC]{background:#ff9561}mark[data-label=MISC]{background:#ffeb80}"
      "</style></head><body>\n";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    out += "<p class=\"doc\">";
    weave(
        texts[i], all[i], [&](const std::string& s) { out += html_escape(s); },
        [&](const Entity& e, const std::string& shown) {
          char score[16];
          std::snprintf(score, sizeof score, "%.3f", static_cast<double>(e.score));
          const std::string type = html_escape(type_of(e.label));
          out += "<mark class=\"entity\" data-label=\"" + type + "\" title=\"" + type + " " + score + "\">" +
                 html_escape(shown) + "<span class=\"label\">" + type + "</span></mark>";
        });
    out += "</p>\n";
  }
  return out + "</body></html>\n";
}

int run_tag(const TagArgs& a) {
  const bool conll = a.format == "conll";
  albertner::TaggerOptions options;
  auto aggregation = albertner::parse_aggregation(a.aggregation);
  if (!aggregation.ok()) return fail(aggregation.error());
  options.aggregation = conll ? albertner::Aggregation::none : *aggregation;
  if (conll) options.ignore_labels.clear(); // one line per token, O included
  options.window = a.window;
  options.overlap = a.overlap;
  options.batch_size = a.batch;
  options.threads = a.threads;

  std::vector<std::string> texts = a.texts;
  std::vector<std::string> ids; // --format jsonl from stdin: each line's "id" as JSON, "" when it has none
  std::string model = default_model();
  if (!texts.empty() && names_model(texts.front())) {
    model = texts.front();
    texts.erase(texts.begin());
  }
  if (texts.empty()) {
    std::size_t number = 0;
    for (const std::string& line : stdin_lines()) {
      ++number;
      if (a.format != "jsonl") {
        texts.push_back(line);
        continue;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = parse_json_line(line, number);
      if (!j.ok()) return fail(j.error());
      const Json* text = j->find("text");
      if (!text || !text->is_string())
        return fail("stdin line " + std::to_string(number) + ": expected {\"text\": string}");
      texts.push_back(text->as_string());
      const Json* id = j->find("id");
      ids.push_back(id ? id->dump() : std::string());
    }
  }
  auto tagger = albertner::Tagger<float>::open(model, options);
  if (!tagger.ok()) return fail(tagger.error());
  auto all = tagger->tag_batch(texts);
  if (!all.ok()) return fail(all.error());

  const bool with_index = options.aggregation == albertner::Aggregation::none;
  std::string out;
  if (a.format == "json") {
    // Like the pipeline: one text gives a list of entities, several give a list of lists.
    if (texts.size() == 1) out = entities_json(all->front(), with_index);
    else {
      out = "[";
      for (std::size_t i = 0; i < all->size(); ++i) out += (i ? "," : "") + entities_json((*all)[i], with_index);
      out += "]";
    }
    out += "\n";
  } else if (a.format == "jsonl") {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      // An input line's "id" (any JSON value) comes first in its output line, for engines that pipe
      // records through (Spark's RDD.pipe, xargs) and join the results back by id.
      out += i < ids.size() && !ids[i].empty() ? "{\"id\":" + ids[i] + ",\"text\":" : std::string("{\"text\":");
      json_escape_to(out, texts[i]);
      out += ",\"entities\":" + entities_json((*all)[i], with_index) + "}\n";
    }
  } else if (conll) {
    for (const std::vector<Entity>& entities : *all) {
      for (const Entity& e : entities) out += e.text + "\t" + e.label + "\n";
      out += "\n";
    }
  } else if (a.format == "pretty") {
    for (std::size_t i = 0; i < texts.size(); ++i) out += pretty(texts[i], (*all)[i]);
  } else {
    out = html_page(texts, *all);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
} // namespace

void add_tag(CLI::App& app) {
  auto args = std::make_shared<TagArgs>();
  CLI::App* cmd = app.add_subcommand("tag", "Find entities in text");
  cmd->add_option(
      "MODEL_AND_TEXT", args->texts,
      "[MODEL.safetensors] TEXT...: the model (default: the bundled CoNLL-2003 model, or $ALBERTNER_MODEL), "
      "then the texts (default: stdin, one text per line; JSON lines {\"id\": any, \"text\": string} with "
      "--format jsonl, the id copied to the output line)");
  cmd->add_option("--aggregation", args->aggregation, "none, simple, first, average or max")
      ->check(CLI::IsMember({"none", "simple", "first", "average", "max"}));
  cmd->add_option("--format", args->format, "json, jsonl, conll, pretty or html")
      ->check(CLI::IsMember({"json", "jsonl", "conll", "pretty", "html"}));
  cmd->add_option("--window", args->window, "Positions per window incl. [CLS]/[SEP] (default: the model's limit)");
  cmd->add_option("--overlap", args->overlap,
                  "Tokens shared by consecutive windows of a long text (default: window / 4, "
                  "128 for 512 positions)");
  cmd->add_option("--batch", args->batch, "Sequences per encoder call");
  cmd->add_option("--threads", args->threads, "Worker threads");
  cmd->callback([args] { exit_status() = run_tag(*args); });
}

} // namespace albertner_cli
