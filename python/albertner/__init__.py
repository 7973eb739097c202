"""albertner: ALBERT named-entity recognition from Python.

    >>> import albertner
    >>> tagger = albertner.Tagger(aggregation="first")   # the bundled CoNLL-2003 model
    >>> tagger("EU rejects German call to boycott British lamb .")
    [{'entity_group': 'ORG', 'score': 0.9928..., 'word': 'EU', 'start': 0, 'end': 2,
      'byte_start': 0, 'byte_end': 2, 'text': 'EU'}, ...]

Entities carry the keys of Hugging Face's token-classification pipeline (``entity_group`` for the
grouped strategies, ``entity`` and ``index`` for ``aggregation="none"``; ``score``, ``word``, ``start``
and ``end`` in code points) plus ``byte_start``/``byte_end`` (UTF-8 bytes) and ``text`` (the caller's
own characters). Tagging releases the GIL; one Tagger may be shared by any number of threads.
A Tagger pickles as its model path and options and reopens (memory-maps) the file where it lands.
Distributed tagging: :mod:`albertner.dask`.
"""
import os

from . import _albertner

__all__ = ["Tagger", "convert", "evaluate", "conll_texts", "default_model", "AGGREGATIONS"]
__version__ = "0.1.0"

AGGREGATIONS = ("none", "simple", "first", "average", "max")
_BUNDLED = "albertner-conll03-small.safetensors"


def default_model():
    """The model used when none is named: $ALBERTNER_MODEL, else the bundled CoNLL-2003 model
    (inside the installed package, or models/ of the repository this package was built from)."""
    env = os.environ.get("ALBERTNER_MODEL")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "models", _BUNDLED),
        os.path.join(os.path.dirname(os.path.dirname(here)), "models", _BUNDLED),  # python/albertner in a checkout
    ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return candidates[0]


def _path(value, what):
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return path
    raise TypeError(f"{what} must be a path (str or os.PathLike), not {type(value).__name__}")


def _count(value, what, minimum=0, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, not {value}")
    return value


def _flag(value, what, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _aggregation(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"aggregation must be a str or None, not {type(value).__name__}")
    if value not in AGGREGATIONS:
        raise ValueError(f"aggregation '{value}' is not one of {', '.join(AGGREGATIONS)}")
    return value


def _strategy(aggregation, aggregation_strategy):
    """aggregation_strategy: Hugging Face's pipeline's name for the same option."""
    if aggregation_strategy is None:
        return _aggregation(aggregation)
    if aggregation is not None:
        raise TypeError("give aggregation or aggregation_strategy (its Hugging Face name), not both")
    return _aggregation(aggregation_strategy)


def _labels(value):
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError("ignore_labels must be a list of labels (e.g. ['O']), not a single string")
    labels = list(value)
    for label in labels:
        if not isinstance(label, str):
            raise TypeError(f"ignore_labels must hold str, not {type(label).__name__}")
    return labels


class Tagger:
    """Text in, entities out, with one converted model file (``albertner convert``).

    model: path of a .safetensors model file; None: :func:`default_model`.
    aggregation: how tokens become entities, one of ``none``, ``simple``, ``first``, ``average``,
        ``max`` (Hugging Face's strategies; ``aggregation_strategy=``, the pipeline's name, is accepted
        too); None: the one the model file recommends (``first`` for the bundled model), else ``simple``.
    threads: threads in all for one call (1: the calling thread alone).
    ignore_labels: labels dropped from the output (default ``["O"]``).
    batch_size: sequences run through the encoder together; window, overlap: positions per window
        of a long text and tokens shared by consecutive windows (0 / None: the model's limit, window / 4).
    constrained: label tokens (or words) with the most probable valid IOB2 sequence (Viterbi: ``I-X``
        only after ``B-X`` or ``I-X``) instead of each one's argmax; not in Hugging Face's pipeline, so
        off by default.
    """

    def __init__(self, model=None, aggregation=None, threads=1, ignore_labels=None, batch_size=8, window=0,
                 overlap=None, aggregation_strategy=None, constrained=False):
        path = default_model() if model is None else _path(model, "model")
        self._args = dict(
            aggregation=_strategy(aggregation, aggregation_strategy),
            threads=_count(threads, "threads", 1),
            ignore_labels=_labels(ignore_labels),
            batch_size=_count(batch_size, "batch_size", 1),
            window=_count(window, "window"),
            overlap=_count(overlap, "overlap", optional=True),
            constrained=_flag(constrained, "constrained"),
        )
        self._path = os.path.abspath(path)
        # What a pickle carries: None (each process finds its own default model) or the absolute path.
        self._model = None if model is None else self._path
        self._impl = _albertner._Tagger(self._path, **self._args)

    def __call__(self, texts, aggregation=None, ignore_labels=None, aggregation_strategy=None, constrained=None):
        """Entities of one text (str, or UTF-8 bytes): a list of dicts. An iterable of texts gives a
        list of such lists, tagged together (batched by length, shared among the threads)."""
        if isinstance(texts, dict):
            raise TypeError("text must be str or bytes, or an iterable of them, not dict")
        return self._impl(texts, _strategy(aggregation, aggregation_strategy), _labels(ignore_labels),
                          _flag(constrained, "constrained", optional=True))

    def logits(self, text):
        """The model's logits for one text: a float32 array [tokens, labels], the [CLS] and [SEP]
        rows included (a long text is windowed and stitched, never truncated)."""
        return self._impl.logits(text)

    def tokens(self, text):
        """The text's tokens as Hugging Face's tokenizer reports them, [CLS] and [SEP] included."""
        return self._impl.tokens(text)

    @property
    def model_path(self):
        """The model file (absolute path)."""
        return self._path

    @property
    def labels(self):
        """The model's labels in id order (the columns of :meth:`logits`)."""
        return self._impl.labels

    @property
    def aggregation(self):
        """The aggregation in force (the model's default resolved)."""
        return self._impl.aggregation

    @property
    def options(self):
        """The options in force, defaults resolved, as a dict."""
        return self._impl.options

    def __reduce__(self):
        # The model path and the options as given: the receiving process maps the file itself. A
        # Tagger of the default model stays one, so that each machine uses its own installed copy.
        return (_reopen, (self._model, self._args))

    def __repr__(self):
        return f"albertner.Tagger({self._path!r}, aggregation={self.aggregation!r}, threads={self._args['threads']})"


def _reopen(path, args):
    return Tagger(path, **args)


def convert(hf_dir, out, dtype="f32", labels=None, weights=None):
    """Converts a Hugging Face ALBERT token-classification folder (config.json, model.safetensors or
    pytorch_model.bin, spiece.model), or re-writes an albertner model file, into one model file, as
    ``albertner convert`` does. dtype: ``f32``, ``bf16`` or ``int8``; labels: ``"conll2003"`` or a list
    of names in id order. Returns a dict describing what was written."""
    source = _path(hf_dir, "hf_dir")
    target = _path(out, "out")
    if not isinstance(dtype, str):
        raise TypeError(f"dtype must be a str, not {type(dtype).__name__}")
    if labels == "conll2003":
        names = list(_albertner._conll2003_labels())
    elif labels is None:
        names = []
    else:
        if isinstance(labels, (str, bytes)):
            raise TypeError("labels must be 'conll2003' or a list of names")
        names = list(labels)
        if not all(isinstance(n, str) for n in names):
            raise TypeError("labels must hold str")
    weights = "" if weights is None else _path(weights, "weights")
    return _albertner._convert(source, target, dtype, names, weights)


def conll_texts(path, limit=None):
    """The sentences of a CoNLL column file (one word per line, its first column; blank lines end a
    sentence; -DOCSTART- lines skipped) as texts, words joined by single spaces, in file order: what
    ``albertner eval`` tags. limit: the first ``limit`` sentences only."""
    sentences, words = [], []
    with open(_path(path, "path"), encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if words:
                    sentences.append(" ".join(words))
                    words = []
            elif fields[0] != "-DOCSTART-":
                words.append(fields[0])
    if words:
        sentences.append(" ".join(words))
    return sentences[:limit] if limit else sentences


def evaluate(model, data, threads=1, batch_size=8, window=0, overlap=None, constrained=False):
    """Entity-level precision, recall and F1 of a model on a CoNLL file (WORD ... GOLD per line),
    as ``albertner eval MODEL --data DATA --json`` (``--constrained`` with constrained=True): a dict
    with precision, recall, f1, accuracy and per_type (each with precision, recall, f1, support).
    window 0: the model's limit; overlap None: a quarter of the window, as the CLI. model None:
    :func:`default_model`."""
    path = default_model() if model is None else _path(model, "model")
    return _albertner._evaluate(path, _path(data, "data"), _count(threads, "threads", 1),
                                _count(batch_size, "batch_size", 1), _count(window, "window"),
                                _count(overlap, "overlap", optional=True), _flag(constrained, "constrained"))
