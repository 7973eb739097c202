// albertner logits MODEL [INPUT.json|-] [--hidden]
#include "cli.hpp"

#include <memory>

namespace albertner_cli {

namespace {
struct LogitsArgs {
  std::string model, input = "-";
  bool hidden = false;
};

using albertner::errc;
using albertner::Error;
using albertner::detail::Json;

// A [B][T] array of integers, all rows the same length.
albertner::Status read_matrix(const Json& root, const char* key, std::vector<std::int64_t>& out, std::int64_t& rows,
                              std::int64_t& cols) {
  const Json* m = root.find(key);
  if (!m || !m->is_array() || m->size() == 0)
    return Error(errc::invalid_input, std::string("'") + key + "' must be a non-empty array of rows");
  rows = static_cast<std::int64_t>(m->size());
  cols = -1;
  for (std::size_t b = 0; b < m->items().size(); ++b) {
    const Json& row = m->items()[b];
    if (!row.is_array())
      return Error(errc::invalid_input, std::string("'") + key + "' row " + std::to_string(b) + " is not an array");
    if (cols >= 0 && static_cast<std::int64_t>(row.size()) != cols)
      return Error(errc::invalid_input, std::string("'") + key + "' row " + std::to_string(b) + " has " +
                                            std::to_string(row.size()) + " entries, row 0 has " + std::to_string(cols));
    cols = static_cast<std::int64_t>(row.size());
    for (std::size_t t = 0; t < row.items().size(); ++t) {
      if (!row.items()[t].is_integer())
        return Error(errc::invalid_input, std::string("'") + key + "' [" + std::to_string(b) + "][" +
                                              std::to_string(t) + "] is not an integer");
      out.push_back(row.items()[t].as_int());
    }
  }
  return albertner::ok_status();
}

void append_tensor(std::string& out, const float* data, std::int64_t B, std::int64_t T, std::int64_t C) {
  out += '[';
  for (std::int64_t b = 0; b < B; ++b) {
    out += b ? ",[" : "[";
    for (std::int64_t t = 0; t < T; ++t) {
      out += t ? ",[" : "[";
      for (std::int64_t c = 0; c < C; ++c) {
        if (c) out += ',';
        append_float(out, data[(b * T + t) * C + c]);
      }
      out += ']';
    }
    out += ']';
  }
  out += ']';
}

int run_logits(const LogitsArgs& a) {
  auto text = read_input(a.input);
  if (!text.ok()) return fail(text.error());
  auto root = albertner::detail::parse_json(*text);
  if (!root.ok()) return fail(root.error().with_context(a.input == "-" ? "stdin" : a.input));
  if (!root->is_object()) return fail("input must be a JSON object with \"input_ids\"");
  std::vector<std::int64_t> ids, mask, types;
  std::int64_t B = 0, T = 0, b2 = 0, t2 = 0;
  auto st = read_matrix(*root, "input_ids", ids, B, T);
  if (!st.ok()) return fail(st.error());
  for (const char* key : {"attention_mask", "token_type_ids"}) {
    if (!root->find(key)) continue;
    std::vector<std::int64_t>& dst = std::string(key) == "attention_mask" ? mask : types;
    st = read_matrix(*root, key, dst, b2, t2);
    if (!st.ok()) return fail(st.error());
    if (b2 != B || t2 != T)
      return fail(std::string("'") + key + "' is [" + std::to_string(b2) + "][" + std::to_string(t2) +
                  "] but input_ids is [" + std::to_string(B) + "][" + std::to_string(T) + "]");
  }
  auto model = albertner::Model::open(a.model);
  if (!model.ok()) return fail(model.error());
  auto encoder = albertner::make_encoder<float>(*model);
  if (!encoder.ok()) return fail(encoder.error());
  albertner::Encoder<float>::Workspace workspace;
  albertner::EncoderInput input;
  input.batch = B;
  input.seq_len = T;
  input.input_ids = ids.data();
  input.attention_mask = mask.empty() ? nullptr : mask.data();
  input.token_type_ids = types.empty() ? nullptr : types.data();
  auto out = encoder->forward(input, workspace);
  if (!out.ok()) return fail(out.error());
  std::string json = "{\"logits\":";
  append_tensor(json, out->logits, B, T, out->num_labels);
  if (a.hidden) {
    json += ",\"last_hidden_state\":";
    append_tensor(json, out->last_hidden_state, B, T, out->hidden_size);
  }
  json += "}\n";
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}
} // namespace

void add_logits(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  CLI::App* cmd = app.add_subcommand("logits", "Run the encoder on token ids and print logits as JSON");
  cmd->add_option("MODEL", args->model, "Model file")->required();
  cmd->add_option("INPUT", args->input, "JSON file with input_ids [, attention_mask, token_type_ids], or - for stdin");
  cmd->add_flag("--hidden", args->hidden, "Also print last_hidden_state");
  cmd->callback([args] { exit_status() = run_logits(*args); });
}

} // namespace albertner_cli
