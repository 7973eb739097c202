"""Python threads share one Tagger (the GIL is released while it tags; the Tagger is thread-safe)."""
import threading
from concurrent.futures import ThreadPoolExecutor

import albertner


def test_four_threads_on_one_tagger_give_the_serial_results(bundled_model, sentences):
    texts = sentences[:400]
    tagger = albertner.Tagger(bundled_model, threads=2)
    serial = [tagger(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(tagger, texts))
    assert parallel == serial
    assert sum(map(len, serial)) > 100


def test_threads_mixing_batches_aggregations_and_logits(bundled_model, sentences):
    tagger = albertner.Tagger(bundled_model)
    chunks = [sentences[i:i + 25] for i in range(0, 200, 25)]
    expected = {(i, a): tagger(c, aggregation=a) for i, c in enumerate(chunks) for a in ("simple", "none")}
    logits = tagger.logits(sentences[0])
    results, errors = {}, []

    def work(i, a):
        try:
            results[(i, a)] = tagger(chunks[i], aggregation=a)
            assert (tagger.logits(sentences[0]) == logits).all()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=key) for key in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == expected


def test_the_gil_is_released_while_tagging(bundled_model, sentences):
    # While one thread tags a long batch, another Python thread keeps running.
    tagger = albertner.Tagger(bundled_model)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        before = len(ticks)
        tagger(sentences[:300])
        during = len(ticks) - before
    finally:
        done.set()
        t.join()
    assert during > 10
