// albertner info [-m MODEL] [--json]
#include "cli.hpp"

#include <memory>
#include <optional>

#include <stdio.h>

namespace albertner_cli {

namespace {
struct InfoArgs {
  std::string model, positional, output;
  bool json = false;
};

int run_info(InfoArgs a) {
  using albertner::Json;
  if (!a.positional.empty() && !a.model.empty())
    return usage("info takes one model (-m/--model FILE, or as its argument)");
  a.model = a.model.empty() ? (a.positional.empty() ? default_model() : a.positional) : a.model;
  auto model = open_model(a.model);
  if (!model.ok()) return fail(model.error());
  const albertner::ModelConfig& c = model->config();
  Json info = Json::make_object();
  info.set("file", Json::make_string(a.model));
  info.set("bytes", Json::make_number(static_cast<double>(model->tensors().file_size()), true,
                                      static_cast<std::int64_t>(model->tensors().file_size())));
  info.set("format_version", Json::make_number(model->format_version(), true, model->format_version()));
  info.set("config", albertner::model_config_to_json(c));
  info.set("tokenizer", albertner::tokenizer_options_to_json(model->tokenizer_options()));
  const std::optional<albertner::Aggregation> recommended = model->recommended_aggregation();
  info.set("aggregation", recommended ? Json::make_string(albertner::aggregation_name(*recommended)) : Json());
  Json tensors = Json::make_array();
  std::int64_t parameters = 0;
  for (const albertner::TensorView& t : model->tensors().tensors()) {
    Json tj = Json::make_object();
    tj.set("name", Json::make_string(t.name));
    tj.set("dtype", Json::make_string(albertner::dtype_name(t.type)));
    Json shape = Json::make_array();
    for (std::int64_t d : t.shape) shape.push_back(Json::make_number(static_cast<double>(d), true, d));
    tj.set("shape", std::move(shape));
    tj.set("bytes", Json::make_number(static_cast<double>(t.nbytes), true, static_cast<std::int64_t>(t.nbytes)));
    tensors.push_back(std::move(tj));
    if (t.name != albertner::model_keys::spiece_model) parameters += t.numel();
  }
  info.set("parameters", Json::make_number(static_cast<double>(parameters), true, parameters));
  // What this process would run the model with: the file's weights on the kernels the CPU allows.
  const albertner::dtype stored = model->weight_dtype();
  const std::string precision = stored == albertner::dtype::i8     ? "int8"
                                : stored == albertner::dtype::bf16 ? "bf16"
                                                                   : "f32";
  info.set("precision", Json::make_string(precision));
  // BF16 dot products serve BF16 weights only: an F32 model runs the fp32 AVX-512 kernels there.
  albertner::KernelIsa isa = albertner::kernel_isa();
  if (isa == albertner::KernelIsa::avx512_bf16 && precision == "f32") isa = albertner::KernelIsa::avx512;
  const char* kernels = albertner::kernel_isa_name(isa);
  if (precision == "int8") kernels = albertner::int8_kernel_name(albertner::int8_kernel());
  info.set("kernels", Json::make_string(kernels));
  info.set("tensors", std::move(tensors));
  if (a.json) return write_all(a.output, info.dump() + "\n");
  // The text report, built in memory and written at once (to -o atomically).
  char* buffer = nullptr;
  std::size_t length = 0;
  std::FILE* out = ::open_memstream(&buffer, &length);
  if (!out) return fail("cannot allocate the report");
  std::string labels;
  for (const std::string& l : c.labels) labels += (labels.empty() ? "" : " ") + l;
  const albertner::TokenizerOptions& t = model->tokenizer_options();
  std::fprintf(out, "%s: albertner model, format version %d, %.1f MB, %lld parameters\n", a.model.c_str(),
               model->format_version(), static_cast<double>(model->tensors().file_size()) / 1e6,
               static_cast<long long>(parameters));
  std::fprintf(out, "encoder    vocab %lld, embedding %lld, hidden %lld, heads %lld, ffn %lld, %s, eps %g\n",
               static_cast<long long>(c.vocab_size), static_cast<long long>(c.embedding_size),
               static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_attention_heads),
               static_cast<long long>(c.intermediate_size), albertner::activation_name(c.hidden_act), c.layer_norm_eps);
  std::fprintf(out,
               "loop       %lld iterations, %lld group(s) x %lld inner layer(s), %lld positions, %lld token types\n",
               static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.num_hidden_groups),
               static_cast<long long>(c.inner_group_num), static_cast<long long>(c.max_position_embeddings),
               static_cast<long long>(c.type_vocab_size));
  std::fprintf(out, "labels     %s\n", labels.c_str());
  std::fprintf(out, "aggregation %s\n",
               recommended ? (std::string(albertner::aggregation_name(*recommended)) +
                              " (recommended by the file; tag uses it unless --aggregation)")
                                 .c_str()
                           : "none recommended (tag uses simple unless --aggregation)");
  std::fprintf(out, "runs as    %s on %s kernels (this CPU; ALBERTNER_ISA=portable forces the portable ones)\n",
               precision.c_str(), kernels);
  std::fprintf(out, "tokenizer  %s, lowercase %s, keep_accents %s, max length %lld\n",
               t.whitespace_split ? "whitespace split + metaspace (hub)" : "metaspace (re-converted)",
               t.lowercase ? "yes" : "no", t.keep_accents ? "yes" : "no", static_cast<long long>(t.model_max_length));
  std::fprintf(out, "tensors\n");
  for (const albertner::TensorView& tv : model->tensors().tensors())
    std::fprintf(out, "  %-70s %-4s %-14s %zu bytes\n", tv.name.c_str(), albertner::dtype_name(tv.type),
                 tv.shape_string().c_str(), tv.nbytes);
  std::fclose(out);
  const std::string report(buffer, length);
  std::free(buffer);
  return write_all(a.output, report);
}
} // namespace

void add_info(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Show a model file's config, labels, tokenizer options and tensors");
  cmd->add_option("MODEL", args->positional, "The model, as -m");
  add_model_option(cmd, args->model);
  add_output_option(cmd, args->output);
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] { exit_status() = run_info(*args); });
}

} // namespace albertner_cli
