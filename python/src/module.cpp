// albertner._albertner: the Python binding (pybind11) over the header-only library. The public
// Python API (albertner.Tagger, convert, evaluate) is python/albertner/__init__.py, which resolves
// the default model and checks argument types before calling in here.
//
// Errors: the library's Result errors become Python exceptions carrying its message: OSError
// (FileNotFoundError for a path that does not exist) for anything about a file, ValueError for bad
// input (invalid UTF-8, a bad option), RuntimeError for an internal error. The GIL is released
// while the library runs; Tagger<>'s calls are const and thread-safe, so no lock is taken here.
#include <albertner/tooling.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

namespace py = pybind11;

namespace {

using albertner::Aggregation;
using albertner::errc;
using albertner::Error;

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// Raises the Python exception for a library error. `path`: the file the call was about (empty
/// when it was about input, not a file): its errors other than invalid_input are OSErrors.
[[noreturn]] void raise_error(const Error& e, const std::string& path = {}) {
  const std::string message = e.what();
  if (e.code() == errc::internal) throw std::runtime_error(message);
  if (e.code() == errc::invalid_input && (path.empty() || path_exists(path))) throw py::value_error(message);
  if (path.empty() && e.code() != errc::io) throw py::value_error(message);
  if (!path.empty() && !path_exists(path)) {
    py::object err = py::reinterpret_steal<py::object>(
        PyObject_CallFunction(PyExc_FileNotFoundError, "(iss)", ENOENT, message.c_str(), path.c_str()));
    if (!err) throw py::error_already_set();
    PyErr_SetObject(PyExc_FileNotFoundError, err.ptr());
    throw py::error_already_set();
  }
  PyErr_SetString(PyExc_OSError, message.c_str());
  throw py::error_already_set();
}

Aggregation parse_aggregation(const std::string& name) {
  auto a = albertner::parse_aggregation(name);
  if (!a.ok()) throw py::value_error("aggregation '" + name + "' is not one of none, simple, first, average, max");
  return *a;
}

/// str → its UTF-8; bytes → as they are (the library checks them). Anything else: TypeError.
std::string text_of(const py::handle& h, const char* what) {
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(h.ptr(), &size); // fails on lone surrogates
    if (!data) throw py::error_already_set();
    return std::string(data, static_cast<std::size_t>(size));
  }
  if (PyBytes_Check(h.ptr())) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    if (PyBytes_AsStringAndSize(h.ptr(), &data, &size) != 0) throw py::error_already_set();
    return std::string(data, static_cast<std::size_t>(size));
  }
  throw py::type_error(std::string(what) + " must be str or bytes, not " +
                       std::string(py::str(py::type::handle_of(h).attr("__name__"))));
}

py::dict entity_dict(const albertner::Entity& e, bool with_index) {
  py::dict d;
  d[with_index ? "entity" : "entity_group"] = e.label;
  d["score"] = static_cast<double>(e.score);
  if (with_index) d["index"] = e.index;
  d["word"] = e.word;
  d["start"] = e.start;
  d["end"] = e.end;
  d["byte_start"] = e.byte_start;
  d["byte_end"] = e.byte_end;
  d["text"] = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(e.text.data(), static_cast<Py_ssize_t>(e.text.size()), "replace"));
  return d;
}

py::list entity_list(const std::vector<albertner::Entity>& entities, bool with_index) {
  py::list out;
  for (const albertner::Entity& e : entities) out.append(entity_dict(e, with_index));
  return out;
}

class PyTagger {
public:
  PyTagger(const std::string& path, std::optional<std::string> aggregation, std::size_t threads,
           std::optional<std::vector<std::string>> ignore_labels, std::size_t batch_size, std::size_t window,
           std::optional<std::size_t> overlap, bool constrained)
      : path_(path) {
    albertner::TaggerOptions options;
    options.constrained = constrained;
    if (aggregation) options.aggregation = parse_aggregation(*aggregation);
    if (ignore_labels) options.ignore_labels = *ignore_labels;
    options.threads = threads;
    options.batch_size = batch_size;
    options.window = window;
    if (overlap) options.overlap = *overlap;
    albertner::Result<albertner::Tagger<>> opened = albertner::Error(errc::internal, "not opened");
    {
      py::gil_scoped_release release;
      opened = albertner::Tagger<>::open(path, options);
    }
    if (!opened.ok()) {
      const Error& e = opened.error();
      // A bad option is the caller's input; anything else came from the file.
      if (e.code() == errc::invalid_input && path_exists(path)) throw py::value_error(e.what());
      raise_error(e, path);
    }
    tagger_ = std::move(opened).value();
  }

  /// One text: a list of entity dicts; an iterable of texts: a list of such lists.
  py::object call(const py::object& texts, std::optional<std::string> aggregation,
                  std::optional<std::vector<std::string>> ignore_labels, std::optional<bool> constrained) const {
    albertner::CallOptions call;
    call.constrained = constrained;
    if (aggregation) call.aggregation = parse_aggregation(*aggregation);
    if (ignore_labels) call.ignore_labels = std::move(ignore_labels);
    const bool one = PyUnicode_Check(texts.ptr()) || PyBytes_Check(texts.ptr());
    std::vector<std::string> batch;
    if (one) batch.push_back(text_of(texts, "text"));
    else if (py::isinstance<py::iterable>(texts))
      for (py::handle h : texts) batch.push_back(text_of(h, "each text"));
    else
      throw py::type_error("text must be str or bytes, or an iterable of them, not " +
                           std::string(py::str(py::type::handle_of(texts).attr("__name__"))));
    albertner::Result<std::vector<std::vector<albertner::Entity>>> all = Error(errc::internal, "not run");
    {
      py::gil_scoped_release release;
      all = tagger_.tag_batch(batch, call);
    }
    if (!all.ok()) raise_error(all.error());
    const bool with_index = call.aggregation.value_or(*tagger_.options().aggregation) == Aggregation::none;
    if (one) return entity_list(all->front(), with_index);
    py::list out;
    for (const auto& entities : *all) out.append(entity_list(entities, with_index));
    return out;
  }

  /// Logits [tokens][labels] of one text, [CLS] and [SEP] rows included.
  py::array_t<float> logits(const py::object& text) const {
    const std::string utf8 = text_of(text, "text");
    albertner::Result<std::vector<std::vector<float>>> rows = Error(errc::internal, "not run");
    {
      py::gil_scoped_release release;
      auto encoding = tagger_.tokenizer().encode(utf8);
      if (!encoding.ok()) rows = encoding.error();
      else rows = tagger_.document_logits({std::move(encoding).value()});
    }
    if (!rows.ok()) raise_error(rows.error());
    const std::size_t labels = tagger_.labels().size();
    const std::vector<float>& data = rows->front();
    py::array_t<float> out(
        {static_cast<py::ssize_t>(labels ? data.size() / labels : 0), static_cast<py::ssize_t>(labels)});
    if (!data.empty()) std::memcpy(out.mutable_data(), data.data(), data.size() * sizeof(float));
    return out;
  }

  py::list tokens(const py::object& text) const {
    const std::string utf8 = text_of(text, "text");
    auto encoding = tagger_.tokenizer().encode(utf8);
    if (!encoding.ok()) raise_error(encoding.error());
    py::list out;
    for (const std::string& t : encoding->tokens) out.append(t);
    return out;
  }

  const std::string& path() const { return path_; }
  std::vector<std::string> labels() const { return tagger_.labels(); }
  std::string aggregation() const { return albertner::aggregation_name(*tagger_.options().aggregation); }
  py::dict options() const {
    const albertner::TaggerOptions& o = tagger_.options();
    py::dict d;
    d["aggregation"] = albertner::aggregation_name(*o.aggregation);
    d["ignore_labels"] = o.ignore_labels;
    d["threads"] = o.threads;
    d["batch_size"] = o.batch_size;
    d["window"] = o.window;
    d["overlap"] = o.overlap;
    d["constrained"] = o.constrained;
    return d;
  }

private:
  std::string path_;
  albertner::Tagger<> tagger_;
};

py::dict convert(const std::string& source, const std::string& out, const std::string& dtype,
                 const std::vector<std::string>& labels, const std::string& weights) {
  albertner::ConvertOptions options;
  options.weights = weights;
  options.labels = labels;
  if (dtype == "bf16") options.matrices = albertner::dtype::bf16;
  else if (dtype == "int8") options.matrices = albertner::dtype::i8;
  else if (dtype != "f32") throw py::value_error("dtype '" + dtype + "' is not one of f32, bf16, int8");
  const bool model_file = albertner::file_exists(source);
  if (model_file && !weights.empty())
    throw py::value_error("weights names a file inside a Hugging Face folder, but " + source + " is a model file");
  albertner::Result<albertner::ConvertReport> report = Error(errc::internal, "not run");
  {
    py::gil_scoped_release release;
    report = model_file ? albertner::convert_model_file(source, out, options)
                        : albertner::convert_hf_checkpoint(source, out, options);
  }
  if (!report.ok()) raise_error(report.error(), path_exists(source) ? out : source);
  py::dict d;
  d["source"] = source;
  d["output"] = out;
  d["weights"] = report->weights_path;
  d["dtype"] = dtype;
  d["labels"] = report->config.labels;
  d["tensors"] = report->tensors_written;
  d["parameters"] = report->parameters;
  d["bytes"] = report->file_bytes;
  d["notes"] = report->notes;
  return d;
}

py::dict counts_dict(const albertner::ChunkCounts& c) {
  py::dict d;
  d["precision"] = c.precision();
  d["recall"] = c.recall();
  d["f1"] = c.f1();
  d["support"] = c.gold;
  d["predicted"] = c.predicted;
  d["correct"] = c.correct;
  return d;
}

py::dict evaluate(const std::string& model_path, const std::string& data, std::size_t threads, std::size_t batch_size,
                  std::size_t window, std::optional<std::size_t> overlap, bool constrained) {
  albertner::Result<albertner::ConllScores> scores = Error(errc::internal, "not run");
  std::size_t without_tokens = 0;
  std::string failed_path; // the file an error is about
  {
    py::gil_scoped_release release;
    scores = [&]() -> albertner::Result<albertner::ConllScores> {
      failed_path = data;
      ALBERTNER_TRY(std::vector<albertner::ConllSentence> sentences,
                    albertner::read_conll(data, albertner::ConllFormat::gold));
      if (sentences.empty()) return Error(errc::format, data + ": no sentences");
      failed_path = model_path;
      ALBERTNER_TRY(albertner::Model model, albertner::Model::open(model_path));
      albertner::TaggerOptions options;
      options.window = window;
      options.batch_size = batch_size;
      options.threads = threads;
      // As `albertner eval`: the Tagger's own default (a quarter of the window) unless given.
      options.overlap = overlap ? *overlap : albertner::TaggerOptions::auto_size;
      auto tagger = albertner::Tagger<>::from_model(std::move(model), options);
      if (!tagger.ok()) return tagger.error().with_context(model_path);
      failed_path.clear();
      albertner::PredictOptions predict;
      predict.constrained = constrained;
      auto tagged = albertner::predict_conll(*tagger, sentences, predict);
      if (!tagged.ok()) return tagged.error().with_context(data);
      without_tokens = tagged->words_without_tokens;
      failed_path = data;
      return albertner::score_conll(sentences);
    }();
  }
  if (!scores.ok()) {
    const Error& e = scores.error();
    if (e.code() == errc::invalid_input && failed_path == model_path && path_exists(model_path))
      throw py::value_error(e.what());
    raise_error(e, failed_path);
  }
  const albertner::ConllScores& s = *scores;
  py::dict d;
  d["precision"] = s.overall.precision();
  d["recall"] = s.overall.recall();
  d["f1"] = s.overall.f1();
  d["accuracy"] = s.accuracy();
  py::dict per_type;
  for (const auto& [type, c] : s.per_type) per_type[py::str(type)] = counts_dict(c);
  d["per_type"] = per_type;
  d["tokens"] = s.tokens;
  d["words_without_tokens"] = without_tokens;
  return d;
}

} // namespace

PYBIND11_MODULE(_albertner, m) {
  m.doc() = "albertner's C++ binding; use the albertner package, not this module";
  py::class_<PyTagger>(m, "_Tagger")
      .def(py::init<const std::string&, std::optional<std::string>, std::size_t,
                    std::optional<std::vector<std::string>>, std::size_t, std::size_t, std::optional<std::size_t>,
                    bool>(),
           py::arg("path"), py::arg("aggregation"), py::arg("threads"), py::arg("ignore_labels"), py::arg("batch_size"),
           py::arg("window"), py::arg("overlap"), py::arg("constrained"))
      .def("__call__", &PyTagger::call, py::arg("texts"), py::arg("aggregation") = py::none(),
           py::arg("ignore_labels") = py::none(), py::arg("constrained") = py::none())
      .def("logits", &PyTagger::logits, py::arg("text"))
      .def("tokens", &PyTagger::tokens, py::arg("text"))
      .def_property_readonly("path", &PyTagger::path)
      .def_property_readonly("labels", &PyTagger::labels)
      .def_property_readonly("aggregation", &PyTagger::aggregation)
      .def_property_readonly("options", &PyTagger::options);
  m.def("_convert", &convert, py::arg("source"), py::arg("out"), py::arg("dtype"), py::arg("labels"),
        py::arg("weights"));
  m.def("_conll2003_labels", [] { return albertner::conll2003_labels(); });
  m.def("_evaluate", &evaluate, py::arg("model"), py::arg("data"), py::arg("threads"), py::arg("batch_size"),
        py::arg("window"), py::arg("overlap"), py::arg("constrained"));
}
