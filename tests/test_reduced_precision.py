"""Part 2's reduced-precision path, forced on any CPU with CH16_PRECISION=bfloat16 (quick mode).

Whatever the hardware, the character LSTM must then train, keep float32 logits, reload from
the model cache with its policy, and generate with a carried state that agrees with the
window model to within bfloat16's precision.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import ch16_helpers as ch16
from conftest import run_script

BFLOAT16_TOLERANCE = 1e-2  # bfloat16 keeps 8 bits of mantissa: about 2 to 3 significant digits


@pytest.fixture(scope="module")
def part2_bf16(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CH16_PRECISION", "bfloat16")
        patch.setattr(ch16, "CACHE_DIR", tmp_path_factory.mktemp("bf16-cache"))
        namespace = run_script("ch16_part2.py", stop_before_training="char_transformer")
        yield namespace
    assert keras.config.dtype_policy().name == "float32"  # the global policy was restored


def test_the_setting_chooses_mixed_bfloat16(part2_bf16):
    assert part2_bf16["precision_policy"] == "mixed_bfloat16"
    assert part2_bf16["char_lstm"].layers[1].dtype_policy.compute_dtype == "bfloat16"
    assert part2_bf16["char_transformer"].dtype_policy.name == "float32"  # applied to the LSTM only


def test_logits_stay_float32(part2_bf16):
    logits = part2_bf16["char_lstm"](tf.constant([part2_bf16["text_encoded"][:40]]))
    assert logits.dtype == tf.float32


def test_the_lstm_learns_in_bfloat16(part2_bf16):
    keras.utils.set_random_seed(0)
    model = part2_bf16["build_char_lstm"]()
    history = model.fit(part2_bf16["train_ds"], validation_data=part2_bf16["val_ds"], epochs=8, verbose=0)
    losses = history.history["val_loss"]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.9 * losses[0], losses


def test_a_saved_bfloat16_model_reloads_with_its_policy(part2_bf16, tmp_path, monkeypatch):
    monkeypatch.setattr(ch16, "CACHE_DIR", tmp_path)
    model = part2_bf16["char_lstm"]
    ch16.save_trained(model, {"loss": [1.0], "val_loss": [1.0]}, "key")
    loaded, _ = ch16.load_trained(model.name, "key")
    assert loaded.layers[1].dtype_policy.name == "mixed_bfloat16"
    ids = tf.constant([part2_bf16["text_encoded"][:40]])
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-6)


def test_carried_state_agrees_with_the_window_within_bfloat16_precision(part2_bf16):
    model = part2_bf16["char_lstm"]
    step_model = part2_bf16["make_step_model"](model)
    ids = tf.constant([part2_bf16["text_encoded"][200:240]])
    h = c = tf.zeros((1, part2_bf16["cfg"].lstm_units))
    for t in range(ids.shape[1]):
        step_logits, h, c = step_model([ids[:, t:t + 1], h, c])
        np.testing.assert_allclose(tf.nn.softmax(model(ids[:, :t + 1])[:, -1]),
                                   tf.nn.softmax(step_logits[:, -1]), atol=BFLOAT16_TOLERANCE)
