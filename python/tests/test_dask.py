"""albertner.dask on a LocalCluster of two worker processes gives the CLI's entities."""
import os

import pytest

dask = pytest.importorskip("dask", reason="skipped: dask is not installed (bash scripts/setup-deps.sh --python)")
distributed = pytest.importorskip("distributed", reason="skipped: distributed is not installed")
pd = pytest.importorskip("pandas", reason="skipped: pandas is not installed")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402

import albertner  # noqa: E402
import albertner.dask as ad  # noqa: E402
from conftest import env_limit  # noqa: E402
from helpers import same_entities  # noqa: E402


def test_without_a_cluster_the_helpers_tag_in_this_process(cluster_sentences, bundled_model):
    texts = cluster_sentences[:50]
    tagger = albertner.Tagger(bundled_model, aggregation="none")
    got = ad.tag_bag(db.from_sequence(texts, npartitions=3), model=tagger).compute(scheduler="sync")
    assert got == tagger(texts) and any(got)


def test_unknown_options_and_columns_are_refused(bundled_model):
    bag = db.from_sequence(["Paris"])
    with pytest.raises(TypeError, match="thread"):
        ad.tag_bag(bag, model=bundled_model, thread=2)
    ddf = dd.from_pandas(pd.DataFrame({"text": ["Paris"]}), npartitions=1)
    with pytest.raises(KeyError, match="body"):
        ad.tag_dataframe(ddf, "body")


def test_the_cache_is_keyed_by_path_and_options(bundled_model):
    a = ad.get_tagger(bundled_model, aggregation="max")
    assert ad.get_tagger(os.path.relpath(bundled_model), aggregation="max") is a
    assert ad.get_tagger(bundled_model, aggregation="first") is not a

@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           worker_dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def cluster_sentences(sentences):
    """ALBERTNER_PY_CLUSTER_SENTENCES caps the sentences sent through the cluster (default: all)."""
    limit = env_limit("ALBERTNER_PY_CLUSTER_SENTENCES")
    return sentences[:limit] if limit else sentences


def test_a_bag_on_two_worker_processes_equals_the_cli(client, cluster_sentences, cli_entities, bundled_model):
    bag = db.from_sequence(cluster_sentences, npartitions=8)
    got = ad.tag_bag(bag, model=bundled_model).compute()
    assert len(got) == len(cluster_sentences)
    bad = [i for i, e in enumerate(got) if not same_entities(e, cli_entities[i])]
    assert bad == [], f"sentence {bad[0]} differs"
    assert sum(map(len, got)) > 100
    # Both workers worked, each with one Tagger opened once for all its partitions.
    opened = client.run(lambda: len(__import__("albertner.dask").dask._cache))
    assert sorted(opened.values()) == [1, 1]


def test_a_dataframe_gains_an_entities_column_equal_to_the_single_process_one(client, cluster_sentences, bundled_model):
    texts = cluster_sentences[:600]
    frame = pd.DataFrame({"id": range(len(texts)), "text": texts})
    ddf = dd.from_pandas(frame, npartitions=4)
    out = ad.tag_dataframe(ddf, "text", model=bundled_model, aggregation="first").compute()
    assert list(out.columns) == ["id", "text", "entities"]
    assert list(out["id"]) == list(range(len(texts)))
    expected = albertner.Tagger(bundled_model, aggregation="first")(texts)
    assert list(out["entities"]) == expected
