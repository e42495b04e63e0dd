"""The arguments of the samplers (``sample``, ``sample_window``) and of ``predict_sentiment``: a wrong
type or value is a clear ``TypeError`` or ``ValueError`` before anything runs, and a sampler's work in one
call is bounded. (The checks that teach, an empty prompt or an unknown character, are in the notebooks.)"""

from numbers import Integral, Real

MAX_CHARACTERS = 1_000_000  # prompt characters read plus characters drawn, in one call
MAX_PROMPTS, MAX_PROMPT_CHARACTERS = 1_000, 100_000  # a batch of prompts, and one prompt read in one call


def _whole(value, low, high, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}")


def _strings(items, message):
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(message.format(i=i, kind=type(item).__name__))


def check_sampling(prompts, length, scale_factor, seed, window=None, trained_length=None):
    """The arguments of a sampler: returns ``(list of prompts, whether one string was given)``."""
    if isinstance(prompts, (bytes, bytearray)):
        raise TypeError("a prompt must be a string, not bytes: decode it first, e.g. prompt.decode('utf-8')")
    single = isinstance(prompts, str)
    prompts = [prompts] if single else prompts
    if not isinstance(prompts, (list, tuple)):
        raise TypeError(f"prompts must be a string or a list of strings, not {type(prompts).__name__}")
    _strings(prompts, "prompt {i} must be a string, not {kind}")
    if not 1 <= len(prompts) <= MAX_PROMPTS or max(map(len, prompts)) > MAX_PROMPT_CHARACTERS:
        raise ValueError(f"one call takes 1 to {MAX_PROMPTS:,} prompts of at most {MAX_PROMPT_CHARACTERS:,} "
                         f"characters each, not {len(prompts):,} of up to {max(map(len, prompts), default=0):,}")
    _whole(length, 1, MAX_CHARACTERS, "length")
    if isinstance(scale_factor, bool) or not isinstance(scale_factor, Real) or not 1e-3 <= scale_factor <= 1e3:
        raise ValueError(f"scale_factor must be a number from 0.001 to 1,000, not {scale_factor!r}")
    _whole(seed, 0, 2**31 - 1, "seed")
    if window is not None:
        _whole(trained_length, 1, MAX_CHARACTERS, "trained_length")
        _whole(window, 1, trained_length, "window (at most the trained context)")
    if (work := sum(map(len, prompts)) + len(prompts) * length * (window or 1)) > MAX_CHARACTERS:  # a window: per draw
        raise ValueError(f"{work:,} characters to read and draw in one call, more than the {MAX_CHARACTERS:,} "
                         "allowed: use fewer or shorter prompts, or a smaller length (or window)")
    return list(prompts), single


def check_reviews(reviews, batch_size):
    """The reviews given to ``predict_sentiment``: a non-empty list of strings of text."""
    _whole(batch_size, 1, 4096, "batch_size")
    if not isinstance(reviews, list):  # tf.data would read a tuple as separate tensors
        raise TypeError(f"reviews must be a list of strings, not {type(reviews).__name__}")
    if not reviews:
        raise ValueError("no reviews given")
    _strings(reviews, "review {i} is not a string but {kind}")
    for i, review in enumerate(reviews):
        surrogates = [char for char in review if "\ud800" <= char <= "\udfff"] if not review.isascii() else []
        if surrogates:  # half of a surrogate pair: no UTF-8 text can hold it
            raise ValueError(f"review {i} holds a character that is not text ({surrogates[0]!r})")
