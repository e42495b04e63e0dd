"""ch16.arguments: the arguments of the samplers and of predict_sentiment, refused with a clear
TypeError or ValueError before anything runs, and the bound on the work of one call."""

import numpy as np
import pytest

from ch16.arguments import MAX_CHARACTERS, MAX_PROMPT_CHARACTERS, MAX_PROMPTS, check_reviews, check_sampling

GOOD = {"prompts": "The island", "length": 100, "scale_factor": 1.0, "seed": 1}


def sampling(**changes):
    return check_sampling(**{**GOOD, **changes})


def test_one_prompt_or_a_list_or_tuple_of_prompts_is_accepted():
    assert sampling() == (["The island"], True)
    assert sampling(prompts=["The", "A"]) == (["The", "A"], False)
    assert sampling(prompts=("The",), length=np.int64(5), scale_factor=np.float32(0.5), seed=np.int32(3)) == (
        ["The"], False)


@pytest.mark.parametrize("prompts, message", [
    (b"The island", "not bytes: decode it first"), (bytearray(b"The"), "not bytes"),
    (42, "prompts must be a string or a list of strings, not int"),
    ({"The"}, "not set"), (iter(["The"]), "not list_iterator"), (["The", 7], "prompt 1 must be a string, not int"),
    ([b"The"], "prompt 0 must be a string, not bytes"),
])
def test_prompts_of_the_wrong_type_are_a_type_error(prompts, message):
    with pytest.raises(TypeError, match=message):
        sampling(prompts=prompts)


@pytest.mark.parametrize("changes, message", [
    ({"prompts": []}, "one call takes 1 to 1,000 prompts of at most 100,000 characters each, not 0 of up to 0"),
    ({"prompts": ["x"] * (MAX_PROMPTS + 1)}, "1,000 prompts of at most 100,000 characters each, not 1,001 of up to 1"),
    ({"prompts": "x" * (MAX_PROMPT_CHARACTERS + 1)}, "each, not 1 of up to 100,001"),
    ({"length": 0}, "length must be a whole number from 1 to 1,000,000, not 0"),
    ({"length": -5}, "length must be"), ({"length": 2.0}, "length must be"), ({"length": True}, "length must be"),
    ({"length": MAX_CHARACTERS + 1}, "length must be"),
    ({"scale_factor": float("inf")}, "scale_factor must be a number from 0.001 to 1,000, not inf"),
    ({"scale_factor": 0}, "scale_factor must be"), ({"scale_factor": 0.0}, "scale_factor must be"),
    ({"scale_factor": True}, "scale_factor must be"), ({"scale_factor": float("nan")}, "scale_factor must be"),
    ({"scale_factor": -1.0}, "scale_factor must be"), ({"scale_factor": "2"}, "scale_factor must be"),
    ({"scale_factor": 10**400}, "scale_factor must be"),
    ({"seed": -1}, "seed must be a whole number from 0 to 2,147,483,647, not -1"),
    ({"seed": 2**31}, "seed must be"), ({"seed": 1.5}, "seed must be"), ({"seed": False}, "seed must be"),
    ({"window": 0, "trained_length": 40}, "window .* from 1 to 40, not 0"),
    ({"window": 41, "trained_length": 40}, "window .* from 1 to 40, not 41"),
    ({"window": 20.0, "trained_length": 40}, "window"),
    ({"window": 20, "trained_length": None}, "trained_length must be a whole number"),
])
def test_values_out_of_range_are_a_value_error_naming_the_argument(changes, message):
    with pytest.raises(ValueError, match=message):
        sampling(**changes)


def test_a_window_up_to_the_trained_length_is_accepted():
    assert sampling(window=40, trained_length=40) == (["The island"], True)


def test_a_thousand_prompts_of_100_000_characters_are_refused_before_any_work():
    with pytest.raises(ValueError, match=r"100,100,000 characters to read and draw in one call, more than the "
                                         r"1,000,000 allowed"):
        sampling(prompts=["x" * 100_000] * 1_000, length=100)


def test_a_window_sampler_counts_its_window_for_every_character_drawn():
    assert sampling(length=24_990, window=40, trained_length=40)[1] is True  # 10 + 24,990 x 40 = 999,610
    with pytest.raises(ValueError, match="1,000,010 characters to read and draw"):
        sampling(length=25_000, window=40, trained_length=40)


def test_the_most_prompts_of_the_longest_length_within_the_bound_are_accepted():
    assert sampling(prompts=["x"] * MAX_PROMPTS, length=1)[1] is False
    assert sampling(prompts="x" * MAX_PROMPT_CHARACTERS, length=1)[1] is True


def test_one_prompt_and_length_within_the_bound_are_accepted_and_one_more_character_is_not():
    prompt = "x" * 1_000
    assert sampling(prompts=prompt, length=MAX_CHARACTERS - 1_000) == ([prompt], True)
    with pytest.raises(ValueError, match="1,000,001 characters to read and draw"):
        sampling(prompts=prompt, length=MAX_CHARACTERS - 999)
    with pytest.raises(ValueError, match="characters to read and draw"):  # the length counts once per prompt
        sampling(prompts=["x", "y"], length=MAX_CHARACTERS // 2)


def test_a_list_of_reviews_is_accepted():
    assert check_reviews(["A fine film.", "Très bien, 10/10 ★"], batch_size=32) is None


@pytest.mark.parametrize("reviews, error, message", [
    ("a bare string", TypeError, "reviews must be a list of strings, not str"),
    (("a", "tuple"), TypeError, "not tuple"), ([], ValueError, "no reviews given"),
    (["fine", b"bytes"], TypeError, "review 1 is not a string but bytes"),
    (["fine", None], TypeError, "review 1 is not a string but NoneType"),
])
def test_reviews_of_the_wrong_type_are_refused_naming_the_review(reviews, error, message):
    with pytest.raises(error, match=message):
        check_reviews(reviews, batch_size=32)


def test_a_review_with_a_lone_surrogate_is_refused_with_its_index():
    with pytest.raises(ValueError, match=r"review 2 holds a character that is not text \('\\ud800'\)"):
        check_reviews(["fine", "also fine ★", "half a pair \ud800 here"], batch_size=32)


@pytest.mark.parametrize("batch_size", [0, 4097, 2.0, True])
def test_a_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number from 1 to 4,096"):
        check_reviews(["fine"], batch_size)
