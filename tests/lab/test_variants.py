"""Tests of the ablation's variants: each changes exactly its one ingredient of the recipe.

The variants are built from the teacher notebook's real ``build_optimized_cnn`` and trained by its
real ``train_optimized_cnn``; only the data (random images) and the epochs are tiny.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.assignment import TeacherNotebook  # noqa: E402
from lab import variants  # noqa: E402


@pytest.fixture(scope="module")
def functions():
    return TeacherNotebook().reference_functions()


def layer_classes(model):
    return [type(layer).__name__ for layer in model.layers]


def test_layer_variants_drop_only_their_layers(functions):
    recipe = layer_classes(variants.build_variant(variants.VARIANTS["recipe"], functions))
    assert {"MaxPooling2x2", "BatchNormalization"} <= set(recipe)
    no_bn = variants.build_variant(variants.VARIANTS["no-batchnorm"], functions)
    assert layer_classes(no_bn) == [c for c in recipe if c != "BatchNormalization"]
    assert all(layer.use_bias for layer in no_bn.layers if isinstance(layer, keras.layers.Conv2D))


def test_builtin_layers_variant_is_the_same_network_in_builtin_layers(functions):
    x = np.random.default_rng(5).random((4, 32, 32, 3), dtype=np.float32)
    keras.utils.set_random_seed(0)
    recipe = variants.build_variant(variants.VARIANTS["recipe"], functions)
    builtin = variants.build_variant(variants.VARIANTS["builtin-layers"], functions)
    assert layer_classes(builtin) == ["RandomFlip", "RandomTranslation"] + [
        "MaxPooling2D" if c == "MaxPooling2x2" else c for c in layer_classes(recipe)]
    assert builtin.count_params() == recipe.count_params()
    builtin.set_weights(recipe.get_weights())  # outside training the augmentation does nothing
    np.testing.assert_allclose(builtin.predict(x, verbose=0), recipe.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert variants.VARIANTS["builtin-layers"].compile_change(
        {"loss": "mse"}) == {"loss": "mse", "jit_compile": False}


def test_augmentation_variants_change_the_input_pipeline_settings():
    from utils import training

    original = training.augmented_batches
    x = np.random.default_rng(6).random((32, 8, 8, 3)).astype(np.float32)
    y = np.eye(32)  # label i: image i

    def train():  # as the recipe asks for its pipeline: flips and 2-pixel shifts
        batches = list(training.augmented_batches(x, y, 8, flip=True, shift=2))
        images = np.concatenate([bx.numpy() for bx, _ in batches])
        ids = np.concatenate([by.numpy() for _, by in batches]).argmax(axis=1)
        return images, x[ids]

    with variants.augmentation_settings("no-augmentation",
                                        variants.VARIANTS["no-augmentation"].augmentation):
        assert training.augmented_batches is not original
        images, originals = train()
    np.testing.assert_array_equal(images, originals)
    with variants.augmentation_settings("no-translation",
                                        variants.VARIANTS["no-translation"].augmentation):
        images, originals = train()
    mirrored = np.all(images == originals[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(mirrored | np.all(images == originals, axis=(1, 2, 3))) and mirrored.any()
    assert training.augmented_batches is original
    with pytest.raises(ValueError, match="does not use"):
        with variants.augmentation_settings("no-augmentation", {"flip": False, "shift": 0}):
            pass  # a training that never asks for the pipeline
    assert training.augmented_batches is original


def test_cutout_variants_ask_the_input_pipeline_for_their_square():
    from utils import training

    x = np.random.default_rng(7).random((16, 16, 16, 3)).astype(np.float32)
    for name, side in [("cutout-8", 8), ("cutout-12", 12)]:
        with variants.augmentation_settings(name, variants.VARIANTS[name].augmentation):
            images = np.concatenate([bx.numpy() for bx, _ in
                                     training.augmented_batches(x, np.eye(16), 8)])
        painted = np.all(images == training.CUTOUT_FILL, axis=-1).sum(axis=(1, 2))
        assert set(painted) == {side * side}


def test_dropout_variant_adds_one_dropout_layer_before_the_output(functions):
    recipe = variants.build_variant(variants.VARIANTS["recipe"], functions)
    dropout = variants.build_variant(variants.VARIANTS["dropout"], functions)
    classes = layer_classes(recipe)
    assert layer_classes(dropout) == classes[:-1] + ["Dropout"] + classes[-1:]
    assert dropout.layers[-2].rate == variants.VARIANTS["dropout"].dropout
    assert dropout.count_params() == recipe.count_params()
    assert dropout.get_layer(variants.WHITENING_LAYER) is not None  # the recipe's training finds it


def test_compile_variants_change_one_setting():
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 80, warmup_target=0.2, warmup_steps=20)
    kwargs = {"loss": keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
              "optimizer": keras.optimizers.SGD(learning_rate=schedule, momentum=0.9,
                                                nesterov=True, weight_decay=5e-4),
              "metrics": ["accuracy"]}

    smooth = variants._no_label_smoothing(kwargs)
    assert smooth["loss"].get_config()["label_smoothing"] == 0.0
    assert smooth["optimizer"] is kwargs["optimizer"]

    constant = variants._constant_learning_rate(kwargs)["optimizer"].get_config()
    expected = np.mean([float(schedule(step)) for step in range(100)])
    assert constant["learning_rate"] == pytest.approx(expected, rel=1e-5)
    assert 0.08 < expected < 0.12  # warm-up to 0.2, cosine to 0: about half the peak
    assert constant["momentum"] == 0.9 and constant["nesterov"] and constant["weight_decay"] == 5e-4

    assert variants._no_weight_decay(kwargs)["optimizer"].get_config()["weight_decay"] is None
    assert variants._weight_averaging(kwargs)["optimizer"].get_config()["use_ema"] is True
    assert kwargs["loss"].get_config()["label_smoothing"] == 0.2  # the original is untouched


def recipe_optimizer(**overrides):
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 80, warmup_target=0.4, warmup_steps=20)
    optimizer = keras.optimizers.SGD(**{"learning_rate": schedule, "momentum": 0.9,
                                        "nesterov": True, "weight_decay": 1e-2, **overrides})
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta"])
    return optimizer


def decayed(optimizer) -> set:
    """Which of a BatchNormalization's and a Conv2D's weights *optimizer* would decay."""
    norm, conv = keras.layers.BatchNormalization(), keras.layers.Conv2D(2, 1)
    norm.build((None, 2, 2, 2))
    conv.build((None, 2, 2, 2))
    return {v.name for v in [*norm.trainable_weights, conv.kernel] if optimizer._use_weight_decay(v)}


def test_copied_optimizers_keep_the_recipe_s_weight_decay_exclusions():
    kwargs = {"loss": "mse", "optimizer": recipe_optimizer()}
    assert decayed(kwargs["optimizer"]) == {"kernel"}
    assert decayed(variants._constant_learning_rate(kwargs)["optimizer"]) == {"kernel"}
    assert decayed(variants._weight_averaging(kwargs)["optimizer"]) == {"kernel"}


def test_sweep_scales_learning_rate_and_weight_decay_on_top_of_a_variant():
    assert variants.adjusted(variants.VARIANTS["recipe"]) is variants.VARIANTS["recipe"]
    variant = variants.adjusted(variants.VARIANTS["no-label-smoothing"], learning_rate_scale=2,
                                weight_decay_scale=0.5)
    assert variant.name == "no-label-smoothing+lr×2+wd×0.5"
    assert "learning rate ×2, weight decay ×0.5" in variant.change
    original = recipe_optimizer()
    kwargs = variant.compile_change({"loss": keras.losses.CategoricalCrossentropy(
        label_smoothing=0.2), "optimizer": original})
    assert kwargs["loss"].get_config()["label_smoothing"] == 0.0  # the variant's own change
    optimizer = kwargs["optimizer"]
    config = optimizer.get_config()
    assert config["weight_decay"] == pytest.approx(5e-3)
    assert config["learning_rate"]["config"]["warmup_target"] == pytest.approx(0.8)
    assert float(keras.optimizers.schedules.deserialize(config["learning_rate"])(20)) == \
        pytest.approx(0.8)
    # The scaled copy still spares batch normalisation from weight decay, as the recipe does.
    assert decayed(optimizer) == {"kernel"} and decayed(original) == {"kernel"}
    with pytest.raises(ValueError, match="no weight decay to scale"):
        variants.adjusted(variants.VARIANTS["no-weight-decay"], weight_decay_scale=2) \
            .compile_change({"loss": "mse", "optimizer": recipe_optimizer()})


def test_width_variants_change_only_the_filter_counts(functions):
    x = np.random.default_rng(3).random((4, 32, 32, 3), dtype=np.float32)
    recipe = variants.build_variant(variants.VARIANTS["recipe"], functions)
    wide = variants.build_variant(variants.VARIANTS["width-2x"], functions)
    assert layer_classes(wide) == layer_classes(recipe)

    def filters(model):
        return [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    assert filters(wide) == [{32: 64, 128: 256}.get(f, f) for f in filters(recipe)]
    assert wide.predict(x, verbose=0).shape == (4, 10)
    with pytest.raises(ValueError, match="no convolution with 7 filters"):
        variants.build_variant(variants.Variant("odd", "", filters=((7, 8),)), functions)


def test_recipe_keeps_whitening_filters_and_no_whitening_trains_a_random_first_layer(functions):
    from utils.training import patch_whitening

    rng = np.random.default_rng(2)
    x = rng.random((32, 32, 32, 3), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    whitening = patch_whitening(x, size=2)

    recipe = variants.build_variant(variants.VARIANTS["recipe"], functions)
    functions["fit_optimized_cnn"](recipe, x, y, epochs=1)
    layer = recipe.get_layer(variants.WHITENING_LAYER)
    assert not layer.trainable
    for got, expected in zip(layer.get_weights(), whitening):
        np.testing.assert_allclose(got, expected)  # set from the data, then left alone

    variant = variants.VARIANTS["no-whitening"]
    with variants.random_first_layer(variant.name, True):
        from utils import training
        start_kernel, start_bias = training.patch_whitening(x, size=2)
    assert start_kernel.shape == whitening[0].shape and not start_bias.any()
    glorot_bound = np.sqrt(6 / (2 * 2 * 3 + 2 * 2 * 24))  # fan in + fan out of a 2 x 2 kernel
    assert np.abs(start_kernel).max() <= glorot_bound

    learned = variants.build_variant(variant, functions)
    with variants.random_first_layer(variant.name, True):
        functions["fit_optimized_cnn"](learned, x, y, epochs=1)
    layer = learned.get_layer(variants.WHITENING_LAYER)
    kernel, bias = layer.get_weights()
    assert layer.trainable
    assert not np.allclose(np.abs(kernel), np.abs(whitening[0]), atol=0.05)
    assert bias.any()  # trained: it started at zero

    with pytest.raises(ValueError, match="does not use utils.training.patch_whitening"):
        with variants.random_first_layer("no-whitening", True):
            pass
