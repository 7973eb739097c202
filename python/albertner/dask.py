"""Tagging Dask collections with albertner.

    import dask.bag as db
    from albertner.dask import tag_bag, tag_dataframe

    entities = tag_bag(db.from_sequence(texts, npartitions=64)).compute()
    df = tag_dataframe(ddf, "text", model="/shared/models/ner.safetensors")  # adds an "entities" column

What travels to the workers is the model's path and the options, never a Tagger or its weights:
each worker process opens one Tagger per (path, options) the first time a partition needs it,
keeps it in a module-level cache and reuses it for every later partition (the file is memory-mapped,
so worker processes on one machine share its pages). Each partition is tagged in one call, batched
by length and shared among the Tagger's threads. The path must name the same file on every worker
(shared storage, or the file shipped with the job: docs/scale-out.md).
"""
import os
import threading

from . import Tagger, default_model

__all__ = ["tag_bag", "tag_dataframe", "get_tagger"]

_cache = {}
_lock = threading.Lock()


def _key(model, opts):
    path = os.path.abspath(default_model() if model is None else os.fspath(model))
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in opts.items()))
    return path, frozen


def get_tagger(model=None, **opts):
    """This process's Tagger for (model, options): opened on first use, then reused."""
    if isinstance(model, Tagger):
        return model
    key = _key(model, opts)
    tagger = _cache.get(key)
    if tagger is None:
        with _lock:  # several threads of one worker: open it once
            tagger = _cache.get(key)
            if tagger is None:
                tagger = Tagger(key[0], **opts)
                _cache[key] = tagger
    return tagger


def _split_options(opts):
    """Tagger options apart from per-call ones (aggregation and ignore_labels are both)."""
    unknown = set(opts) - {"aggregation", "aggregation_strategy", "threads", "ignore_labels", "batch_size", "window",
                           "overlap", "constrained"}
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    return dict(opts)


def _model_arg(model):
    # A Tagger travels as its path and options (it pickles so anyway); a path as a plain str.
    if isinstance(model, Tagger):
        return model._model, dict(model._args)
    if model is None:
        return None, {}
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a path, a Tagger or None, not {type(model).__name__}")
    return os.fspath(model), {}


def _tag_partition(texts, model, opts):
    texts = list(texts)
    if not texts:
        return []
    return get_tagger(model, **opts)(texts)


def tag_bag(bag, model=None, **opts):
    """A dask.bag of texts (str or UTF-8 bytes) → a bag of entity lists, in the same order.
    model: a path, a Tagger (its path and options are used) or None (the bundled model); opts:
    Tagger options (aggregation, threads, ignore_labels, batch_size, window, overlap, constrained)."""
    path, base = _model_arg(model)
    base.update(_split_options(opts))
    return bag.map_partitions(_tag_partition, path, base)


def _tag_frame(frame, column, out, model, opts):
    frame = frame.copy()
    texts = frame[column].tolist()
    frame[out] = _tag_partition(texts, model, opts) if texts else []
    return frame


def tag_dataframe(df, column, model=None, out="entities", **opts):
    """A dask.dataframe with a text column → the same frame with an `out` column holding each row's
    entity list (an object column). Options as for :func:`tag_bag`."""
    if column not in df.columns:
        raise KeyError(f"column '{column}' not in the dataframe (columns: {', '.join(map(str, df.columns))})")
    path, base = _model_arg(model)
    base.update(_split_options(opts))
    import pandas as pd

    meta = df._meta.assign(**{out: pd.Series([], dtype=object, index=df._meta.index)})
    return df.map_partitions(_tag_frame, column, out, path, base, meta=meta)
