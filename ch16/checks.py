"""Argument checks of the chapter's generation and prediction functions: every bad argument is a
clear ``TypeError`` or ``ValueError`` before anything runs."""

import math

import numpy as np

MAX_GENERATE = 100_000  # characters per call: a bound that keeps a typo from exhausting the memory
MAX_PROMPT = 100_000  # characters of a prompt
MAX_PROMPTS = 1_000  # prompts of one call
SCALE_FACTOR_RANGE = (1e-3, 1e3)  # beyond these the draws are uniform or always the likeliest character


def is_whole_number(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_generation_arguments(length, scale_factor, seed):
    """The length to generate, the scale factor and the seed of ``sample`` and ``sample_window``."""
    if not is_whole_number(length) or not 1 <= length <= MAX_GENERATE:
        raise ValueError(f"length must be a whole number of characters from 1 to {MAX_GENERATE:,}, not {length!r}")
    low, high = SCALE_FACTOR_RANGE
    if (isinstance(scale_factor, (bool, np.bool_)) or not isinstance(scale_factor, (int, float, np.integer, np.floating))
            or not low <= scale_factor <= high or not math.isfinite(float(scale_factor))):
        raise ValueError(f"scale_factor must be a number from {low:g} to {high:,.0f}, not {scale_factor!r}")
    if not is_whole_number(seed) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be a whole number from 0 to 2**31 - 1, not {seed!r}")


def check_prompts(prompts):
    """One prompt (a string) or a list of them: returns ``(list of prompts, whether one was given)``."""
    if isinstance(prompts, (bytes, bytearray)):
        raise TypeError("a prompt must be a string, not bytes: decode it first, e.g. prompt.decode('utf-8')")
    single = isinstance(prompts, str)
    if not single and not isinstance(prompts, (list, tuple)):
        raise TypeError(f"prompts must be a string or a list of strings, not {type(prompts).__name__}")
    prompts = [prompts] if single else list(prompts)
    if not prompts:
        raise ValueError("no prompts given")
    if len(prompts) > MAX_PROMPTS:
        raise ValueError(f"{len(prompts):,} prompts given, more than the {MAX_PROMPTS:,} allowed in one call")
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise TypeError(f"prompt {i} must be a string, not {type(prompt).__name__}")
        if not prompt:
            raise ValueError("the prompt is empty: give at least one character to start from")
        if len(prompt) > MAX_PROMPT:
            raise ValueError(f"prompt {i} has {len(prompt):,} characters, more than the {MAX_PROMPT:,} allowed")
    return prompts, single


def check_window(window, trained_length):
    """The window of ``sample_window``: at most the context length the model was trained on."""
    if not is_whole_number(window) or not 1 <= window <= trained_length:
        raise ValueError(f"window must be a whole number from 1 to {trained_length} (the trained context), "
                         f"not {window!r}")


MAX_REVIEWS, MAX_REVIEW_CHARS, MAX_REVIEW_BATCH = 100_000, 1_000_000, 4_096


def check_reviews(reviews, batch_size=1):
    """The reviews given to ``predict_sentiment``: a non-empty list of strings of UTF-8-encodable text,
    and its batch size."""
    if not is_whole_number(batch_size) or not 1 <= batch_size <= MAX_REVIEW_BATCH:
        raise ValueError(f"batch_size must be a whole number from 1 to {MAX_REVIEW_BATCH:,}, not {batch_size!r}")
    if not isinstance(reviews, list):  # tf.data would take a tuple for a structure of separate tensors
        raise TypeError(f"reviews must be a list of strings, not {type(reviews).__name__}")
    if not reviews:
        raise ValueError("no reviews given")
    if len(reviews) > MAX_REVIEWS:
        raise ValueError(f"{len(reviews):,} reviews given, more than the {MAX_REVIEWS:,} allowed in one call")
    for i, review in enumerate(reviews):
        if not isinstance(review, str):
            raise TypeError(f"review {i} is not a string but {type(review).__name__}")
        if len(review) > MAX_REVIEW_CHARS:
            raise ValueError(f"review {i} has {len(review):,} characters, more than the {MAX_REVIEW_CHARS:,} allowed")
        try:
            review.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"review {i} holds a character that is not text ({error.object[error.start]!r} at "
                             f"position {error.start}, half of a surrogate pair)") from None
