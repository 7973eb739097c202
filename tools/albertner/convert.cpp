// albertner convert HF_DIR|MODEL -o OUT [--dtype f32|bf16|int8] [--labels conll2003|L0,L1,...] [--weights FILE]
//                   [--aggregation none|simple|first|average|max]
#include "cli.hpp"

#include <memory>
#include <sstream>

namespace albertner_cli {

namespace {
struct ConvertArgs {
  std::string hf_dir, out, labels, weights, dtype = "f32", aggregation;
};

int run_convert(const ConvertArgs& a) {
  albertner::ConvertOptions options;
  options.weights = a.weights;
  if (a.labels == "conll2003") options.labels = albertner::conll2003_labels();
  else if (!a.labels.empty()) {
    std::stringstream ss(a.labels);
    std::string label;
    while (std::getline(ss, label, ',')) options.labels.push_back(label);
  }
  if (!a.aggregation.empty()) {
    auto aggregation = albertner::parse_aggregation(a.aggregation);
    if (!aggregation.ok()) return usage("--aggregation: " + aggregation.error().message());
    options.aggregation = *aggregation;
  }
  if (a.dtype == "bf16") options.matrices = albertner::dtype::bf16;
  else if (a.dtype == "int8") options.matrices = albertner::dtype::i8;
  else if (a.dtype != "f32") return usage("--dtype " + a.dtype + " is not one of f32, bf16, int8");
  // A regular file is an albertner model to re-write (another dtype, other labels).
  const bool model_file = albertner::file_exists(a.hf_dir);
  if (model_file && !a.weights.empty())
    return fail(albertner::Error(albertner::errc::invalid_input,
                                 "--weights names a file inside HF_DIR, but " + a.hf_dir + " is a model file"));
  auto report = model_file ? albertner::convert_model_file(a.hf_dir, a.out, options)
                           : albertner::convert_hf_checkpoint(a.hf_dir, a.out, options);
  if (!report.ok()) return fail(name_user_path(report.error(), a.out));
  const albertner::ModelConfig& c = report->config;
  const albertner::TokenizerOptions& t = report->tokenizer;
  std::string labels;
  for (const std::string& l : c.labels) labels += (labels.empty() ? "" : ",") + l;
  std::fprintf(stderr,
               "albertner convert: %s -> %s\n"
               "  weights     %s\n"
               "  encoder     vocab %lld, embedding %lld -> hidden %lld, %lld heads, ffn %lld (%s), "
               "%lld iterations over %lld group(s) x %lld layer(s), %lld positions\n"
               "  labels      %lld: %s\n"
               "  tokenizer   %s, lowercase %s, keep_accents %s, max length %lld\n"
               "  wrote       %zu tensors, %zu parameters, matrices %s, %.1f MB, aggregation %s\n",
               a.hf_dir.c_str(), a.out.c_str(), report->weights_path.c_str(), static_cast<long long>(c.vocab_size),
               static_cast<long long>(c.embedding_size), static_cast<long long>(c.hidden_size),
               static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.intermediate_size),
               albertner::activation_name(c.hidden_act), static_cast<long long>(c.num_hidden_layers),
               static_cast<long long>(c.num_hidden_groups), static_cast<long long>(c.inner_group_num),
               static_cast<long long>(c.max_position_embeddings), static_cast<long long>(c.num_labels()),
               labels.c_str(), t.whitespace_split ? "whitespace split + metaspace (hub)" : "metaspace (re-converted)",
               t.lowercase ? "yes" : "no", t.keep_accents ? "yes" : "no", static_cast<long long>(t.model_max_length),
               report->tensors_written, report->parameters, albertner::dtype_name(options.matrices),
               static_cast<double>(report->file_bytes) / 1e6,
               report->aggregation ? albertner::aggregation_name(*report->aggregation) : "none recommended");
  for (const std::string& note : report->notes) std::fprintf(stderr, "  note        %s\n", note.c_str());
  return 0;
}
} // namespace

void add_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Convert a Hugging Face ALBERT token-classification folder (or re-write a model file) into one model file");
  cmd->add_option(
         "HF_DIR", args->hf_dir,
         "Folder with config.json, model.safetensors or pytorch_model.bin, spiece.model; or an albertner model "
         "file to re-write")
      ->required();
  cmd->add_option("--dtype", args->dtype,
                  "How the matrices are stored: f32 (default), bf16 (half the size; runs on BF16 dot products where "
                  "the CPU has them) or int8 (a quarter; int8 weights per output channel, activations quantized per "
                  "token, VNNI dot products where the CPU has them)");
  cmd->add_option("-o,--output", args->out, "Output model file (.safetensors)")->required();
  cmd->add_option("--labels", args->labels, "Label names: conll2003, or a comma-separated list in id order");
  cmd->add_option("--aggregation", args->aggregation,
                  "Record the aggregation the model was trained for (none, simple, first, average, max): tag and the "
                  "Tagger use it when none is chosen (default: none recorded; re-writing a model file keeps its own)")
      ->check(CLI::IsMember({"none", "simple", "first", "average", "max"}));
  cmd->add_option("--weights", args->weights,
                  "Weights file inside HF_DIR (default: model.safetensors, else pytorch_model.bin)");
  cmd->callback([args] { exit_status() = run_convert(*args); });
}

} // namespace albertner_cli
