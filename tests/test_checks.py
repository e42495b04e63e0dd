"""ch16.checks: the arguments of the generation and prediction functions, refused with clear errors."""

import numpy as np
import pytest

import ch16
from ch16.checks import MAX_PROMPT, check_generation_arguments, check_prompts, check_reviews, check_window


@pytest.mark.parametrize("length, scale_factor, seed, message", [
    (0, 1.0, 1, "length must be a whole number"), (-5, 1.0, 1, "length must be a whole number"),
    (2.5, 1.0, 1, "length must be a whole number"), (True, 1.0, 1, "length must be a whole number"),
    (10**9, 1.0, 1, "length must be a whole number of characters from 1 to"),
    (5, 0.0, 1, "scale_factor must be a number from"), (5, -1.0, 1, "scale_factor must be a number from"),
    (5, float("inf"), 1, "scale_factor must be"), (5, float("nan"), 1, "scale_factor must be"),
    (5, "2", 1, "scale_factor must be"), (5, 1e30, 1, "scale_factor must be"), (5, 1e-50, 1, "scale_factor must be"),
    (5, True, 1, "scale_factor must be"),
    (5, 1.0, -1, "seed must be a whole number"), (5, 1.0, 2**31, "seed must be a whole number"),
    (5, 1.0, 1.5, "seed must be a whole number"),
])
def test_bad_generation_arguments_get_clear_errors(length, scale_factor, seed, message):
    with pytest.raises(ValueError, match=message):
        check_generation_arguments(length, scale_factor, seed)


def test_numpy_numbers_are_accepted():
    check_generation_arguments(np.int64(12), np.float32(0.5), np.int32(3))


@pytest.mark.parametrize("prompts, error, message", [
    (b"The island", TypeError, "not bytes: decode it first"),
    (42, TypeError, "prompts must be a string or a list of strings, not int"),
    ([], ValueError, "no prompts given"), ("", ValueError, "the prompt is empty"),
    (["The", 7], TypeError, "prompt 1 must be a string, not int"),
    ("x" * (MAX_PROMPT + 1), ValueError, f"more than the {MAX_PROMPT:,} allowed"),
])
def test_bad_prompts_get_clear_errors(prompts, error, message):
    with pytest.raises(error, match=message):
        check_prompts(prompts)


def test_one_prompt_or_a_list_of_prompts():
    assert check_prompts("The") == (["The"], True)
    assert check_prompts(("The", "A")) == (["The", "A"], False)


@pytest.mark.parametrize("window", [0, -3, 41, 2.0, True])
def test_a_window_beyond_the_trained_context_is_refused(window):
    with pytest.raises(ValueError, match="window must be a whole number from 1 to 40"):
        check_window(window, 40)


@pytest.mark.parametrize("reviews, error, message", [
    ("a bare string", TypeError, "list of strings"), ([], ValueError, "no reviews"),
    ([42], TypeError, "review 0 is not a string but int"), (["fine", None], TypeError, "review 1 is not a string"),
    (["fine", "half a surrogate pair \ud800 here"], ValueError, r"review 1 holds a character that is not text"),
])
def test_bad_reviews_get_clear_errors(reviews, error, message):
    with pytest.raises(error, match=message):
        check_reviews(reviews)
    with pytest.raises(error, match=message):
        ch16.check_reviews(reviews)


def test_a_huge_integer_scale_factor_is_a_value_error():
    with pytest.raises(ValueError, match="scale_factor must be a number from"):
        check_generation_arguments(5, 10**400, 1)


def test_too_many_prompts_are_refused():
    with pytest.raises(ValueError, match="1,001 prompts given, more than the 1,000 allowed"):
        check_prompts(["The"] * 1_001)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, 2**64, np.uint64(2**64 - 1)])
def test_a_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number from 1 to 4,096"):
        check_reviews(["fine"], batch_size)


def test_too_many_or_too_long_reviews_are_refused():
    with pytest.raises(ValueError, match="100,001 reviews given, more than the 100,000 allowed"):
        check_reviews([""] * 100_001)
    with pytest.raises(ValueError, match="review 1 has 1,000,001 characters, more than the 1,000,000 allowed"):
        check_reviews(["fine", "a" * 1_000_001])
