"""Under the grounding stage's floor the generator's beams almost never stand, so a floored request does
not run the generator; a request that fills k (tagsmith predict's default) still does."""

from __future__ import annotations

import pytest

from inference.runtime.suggester import SuggestRequest, Suggester

POST = "Watching the final set at the Australian Open tonight"


@pytest.fixture(scope="module")
def suggester():
    return Suggester.from_default_models(threads=1)


def test_serving_floored_requests_never_opens_the_generators_graphs(suggester):
    model = suggester.models["en"]
    if model.generator_opener is None:
        pytest.skip("the shipped English folder does not weigh the generator")
    suggester.warm_up()
    suggester.suggest(SuggestRequest(POST, ("what a match",), k=5))
    assert model.generator is None  # the warm-up and the service's requests are floored
    assert model.open_generator() is model.open_generator() is model.generator is not None


@pytest.fixture(scope="module")
def counted(suggester):
    generator = suggester.models["en"].open_generator()
    if generator is None:
        pytest.skip("the shipped English folder does not weigh the generator")
    calls = []
    original = generator.generate

    def generate(pairs, **kwargs):
        calls.append(len(pairs))
        return original(pairs, **kwargs)

    generator.generate = generate
    return suggester, calls


def test_a_floored_request_does_not_run_the_generator_and_a_filling_one_does(counted):
    suggester, calls = counted
    calls.clear()
    suggester.suggest(SuggestRequest(POST, k=5))
    assert calls == []
    suggester.suggest(SuggestRequest(POST, k=5, floor=False))
    assert calls == [1]


def test_in_a_mixed_batch_each_request_gets_the_list_it_gets_alone(counted):
    suggester, calls = counted
    floored, filled = SuggestRequest(POST, k=5), SuggestRequest(POST + "!", k=5, floor=False)
    alone = [suggester.suggest(floored), suggester.suggest(filled)]
    calls.clear()
    together = suggester.suggest_batch([floored, filled])
    assert calls == [1]  # the generator ran for the filling request only
    assert [r.suggestions for r in together] == [r.suggestions for r in alone]


def test_both_retrieval_sources_share_one_tf_idf_vectorisation_of_a_batch(suggester, monkeypatch):
    retrieval = suggester.models["en"].retrieval
    made = []
    original = retrieval.vectorize
    monkeypatch.setattr(retrieval, "vectorize", lambda pairs: made.append(len(pairs)) or original(pairs))
    suggester.suggest_batch([SuggestRequest(POST, k=5), SuggestRequest("Heavy snow warning for Chicago tonight", k=5)])
    assert made == [2]
