"""Tests of ``python -m instructor.ablation``: each variant changes exactly its one ingredient.

The variants are built from the teacher notebook's real ``build_optimized_cnn`` and trained by its
real ``train_optimized_cnn``; only the data (synthetic CIFAR-10) and the epochs are tiny.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from instructor import ablation, benchmark  # noqa: E402
from utils.data import write_synthetic_cifar10  # noqa: E402


@pytest.fixture(scope="module")
def functions():
    return benchmark.load_reference_functions(benchmark.NOTEBOOK)


def layer_classes(model):
    return [type(layer).__name__ for layer in model.layers]


def test_layer_variants_drop_only_their_layers(functions):
    recipe = layer_classes(ablation.build_variant(ablation.VARIANTS["recipe"], functions))
    assert {"MaxPooling2x2", "BatchNormalization"} <= set(recipe)
    no_bn = ablation.build_variant(ablation.VARIANTS["no-batchnorm"], functions)
    assert layer_classes(no_bn) == [c for c in recipe if c != "BatchNormalization"]
    assert all(layer.use_bias for layer in no_bn.layers if isinstance(layer, keras.layers.Conv2D))


def test_builtin_layers_variant_is_the_same_network_in_builtin_layers(functions):
    x = np.random.default_rng(5).random((4, 32, 32, 3), dtype=np.float32)
    keras.utils.set_random_seed(0)
    recipe = ablation.build_variant(ablation.VARIANTS["recipe"], functions)
    builtin = ablation.build_variant(ablation.VARIANTS["builtin-layers"], functions)
    assert layer_classes(builtin) == ["RandomFlip", "RandomTranslation"] + [
        "MaxPooling2D" if c == "MaxPooling2x2" else c for c in layer_classes(recipe)]
    assert builtin.count_params() == recipe.count_params()
    builtin.set_weights(recipe.get_weights())  # outside training the augmentation does nothing
    np.testing.assert_allclose(builtin.predict(x, verbose=0), recipe.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert ablation.VARIANTS["builtin-layers"].compile_change(
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

    with ablation.augmentation_settings("no-augmentation",
                                        ablation.VARIANTS["no-augmentation"].augmentation):
        assert training.augmented_batches is not original
        images, originals = train()
    np.testing.assert_array_equal(images, originals)
    with ablation.augmentation_settings("no-translation",
                                        ablation.VARIANTS["no-translation"].augmentation):
        images, originals = train()
    mirrored = np.all(images == originals[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(mirrored | np.all(images == originals, axis=(1, 2, 3))) and mirrored.any()
    assert training.augmented_batches is original
    with pytest.raises(ValueError, match="does not use"):
        with ablation.augmentation_settings("no-augmentation", {"flip": False, "shift": 0}):
            pass  # a training that never asks for the pipeline
    assert training.augmented_batches is original


def test_cutout_variants_ask_the_input_pipeline_for_their_square():
    from utils import training

    x = np.random.default_rng(7).random((16, 16, 16, 3)).astype(np.float32)
    for name, side in [("cutout-8", 8), ("cutout-12", 12)]:
        with ablation.augmentation_settings(name, ablation.VARIANTS[name].augmentation):
            images = np.concatenate([bx.numpy() for bx, _ in
                                     training.augmented_batches(x, np.eye(16), 8)])
        painted = np.all(images == training.CUTOUT_FILL, axis=-1).sum(axis=(1, 2))
        assert set(painted) == {side * side}


def test_dropout_variant_adds_one_dropout_layer_before_the_output(functions):
    recipe = ablation.build_variant(ablation.VARIANTS["recipe"], functions)
    dropout = ablation.build_variant(ablation.VARIANTS["dropout"], functions)
    classes = layer_classes(recipe)
    assert layer_classes(dropout) == classes[:-1] + ["Dropout"] + classes[-1:]
    assert dropout.layers[-2].rate == ablation.VARIANTS["dropout"].dropout
    assert dropout.count_params() == recipe.count_params()
    assert dropout.get_layer(ablation.WHITENING_LAYER) is not None  # the recipe's training finds it


def test_compile_variants_change_one_setting():
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 80, warmup_target=0.2, warmup_steps=20)
    kwargs = {"loss": keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
              "optimizer": keras.optimizers.SGD(learning_rate=schedule, momentum=0.9,
                                                nesterov=True, weight_decay=5e-4),
              "metrics": ["accuracy"]}

    smooth = ablation._no_label_smoothing(kwargs)
    assert smooth["loss"].get_config()["label_smoothing"] == 0.0
    assert smooth["optimizer"] is kwargs["optimizer"]

    constant = ablation._constant_learning_rate(kwargs)["optimizer"].get_config()
    expected = np.mean([float(schedule(step)) for step in range(100)])
    assert constant["learning_rate"] == pytest.approx(expected, rel=1e-5)
    assert 0.08 < expected < 0.12  # warm-up to 0.2, cosine to 0: about half the peak
    assert constant["momentum"] == 0.9 and constant["nesterov"] and constant["weight_decay"] == 5e-4

    assert ablation._no_weight_decay(kwargs)["optimizer"].get_config()["weight_decay"] is None
    assert ablation._weight_averaging(kwargs)["optimizer"].get_config()["use_ema"] is True
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
    assert decayed(ablation._constant_learning_rate(kwargs)["optimizer"]) == {"kernel"}
    assert decayed(ablation._weight_averaging(kwargs)["optimizer"]) == {"kernel"}


def test_sweep_scales_learning_rate_and_weight_decay_on_top_of_a_variant():
    assert ablation.adjusted(ablation.VARIANTS["recipe"]) is ablation.VARIANTS["recipe"]
    variant = ablation.adjusted(ablation.VARIANTS["no-label-smoothing"], learning_rate_scale=2,
                                weight_decay_scale=0.5, decay_normalization=False)
    assert variant.name == "no-label-smoothing+lr×2+wd×0.5+no-bn-decay"
    assert "learning rate ×2, weight decay ×0.5" in variant.change
    original = recipe_optimizer()
    original.exclude_from_weight_decay()  # decays everything, as the optimiser would by default
    kwargs = variant.compile_change({"loss": keras.losses.CategoricalCrossentropy(
        label_smoothing=0.2), "optimizer": original})
    assert kwargs["loss"].get_config()["label_smoothing"] == 0.0  # the variant's own change
    optimizer = kwargs["optimizer"]
    config = optimizer.get_config()
    assert config["weight_decay"] == pytest.approx(5e-3)
    assert config["learning_rate"]["config"]["warmup_target"] == pytest.approx(0.8)
    assert float(keras.optimizers.schedules.deserialize(config["learning_rate"])(20)) == \
        pytest.approx(0.8)
    assert decayed(optimizer) == {"kernel"} and decayed(original) == {"gamma", "beta", "kernel"}
    args = ablation.build_parser().parse_args(["--learning-rate-scale", "2",
                                                "--no-decay-normalization"])
    assert (args.learning_rate_scale, args.weight_decay_scale, args.decay_normalization) == \
        (2.0, 1.0, False)
    assert ablation.build_parser().parse_args([]).decay_normalization is True
    with pytest.raises(ValueError, match="no weight decay to scale"):
        ablation.adjusted(ablation.VARIANTS["no-weight-decay"], weight_decay_scale=2) \
            .compile_change({"loss": "mse", "optimizer": recipe_optimizer()})


def test_width_variants_change_only_the_filter_counts(functions):
    x = np.random.default_rng(3).random((4, 32, 32, 3), dtype=np.float32)
    recipe = ablation.build_variant(ablation.VARIANTS["recipe"], functions)
    wide = ablation.build_variant(ablation.VARIANTS["width-2x"], functions)
    assert layer_classes(wide) == layer_classes(recipe)

    def filters(model):
        return [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    assert filters(wide) == [{32: 64, 128: 256}.get(f, f) for f in filters(recipe)]
    assert wide.predict(x, verbose=0).shape == (4, 10)
    with pytest.raises(ValueError, match="no convolution with 7 filters"):
        ablation.build_variant(ablation.Variant("odd", "", filters=((7, 8),)), functions)


def test_recipe_keeps_whitening_filters_and_no_whitening_trains_a_random_first_layer(functions):
    from utils.training import patch_whitening

    rng = np.random.default_rng(2)
    x = rng.random((32, 32, 32, 3), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    whitening = patch_whitening(x, size=2)

    recipe = ablation.build_variant(ablation.VARIANTS["recipe"], functions)
    functions["train_optimized_cnn"](recipe, x, y, epochs=1)
    layer = recipe.get_layer(ablation.WHITENING_LAYER)
    assert not layer.trainable
    for got, expected in zip(layer.get_weights(), whitening):
        np.testing.assert_allclose(got, expected)  # set from the data, then left alone

    variant = ablation.VARIANTS["no-whitening"]
    with ablation.random_first_layer(variant.name, True):
        from utils import training
        start_kernel, start_bias = training.patch_whitening(x, size=2)
    assert start_kernel.shape == whitening[0].shape and not start_bias.any()
    glorot_bound = np.sqrt(6 / (2 * 2 * 3 + 2 * 2 * 24))  # fan in + fan out of a 2 x 2 kernel
    assert np.abs(start_kernel).max() <= glorot_bound

    learned = ablation.build_variant(variant, functions)
    with ablation.random_first_layer(variant.name, True):
        functions["train_optimized_cnn"](learned, x, y, epochs=1)
    layer = learned.get_layer(ablation.WHITENING_LAYER)
    kernel, bias = layer.get_weights()
    assert layer.trainable
    assert not np.allclose(np.abs(kernel), np.abs(whitening[0]), atol=0.05)
    assert bias.any()  # trained: it started at zero

    with pytest.raises(ValueError, match="does not use utils.training.patch_whitening"):
        with ablation.random_first_layer("no-whitening", True):
            pass


def test_main_records_runs_renders_table_and_skips_them_next_time(tmp_path, capsys):
    data = write_synthetic_cifar10(tmp_path / "cifar10", train_per_class=4, test_per_class=1)
    out = tmp_path / "results"
    argv = ["--data-dir", str(data), "--out", str(out), "--train-images", "24", "--epochs", "1",
            "--variants", "recipe", "no-label-smoothing", "--data-note", "synthetic (tests)"]
    assert ablation.main(argv) == 0
    runs = json.loads((out / "ablation.json").read_text())["runs"]
    assert {run["variant"] for run in runs.values()} == {"recipe", "no-label-smoothing"}
    for run in runs.values():
        assert run["train_images"] == 24 and run["test_images"] == 10 and run["epochs"] == 1
        assert 0.0 <= run["test_accuracy_crop_tta"] <= 1.0
    table = (out / "ablation.md").read_text()
    assert "## 24 training images, 1 epoch" in table
    assert "| `no-label-smoothing` |" in table and "synthetic (tests)" in table

    capsys.readouterr()
    assert ablation.main(argv) == 0
    assert capsys.readouterr().out.count("skipped") == 2
    assert all(run["command"].startswith("python -m instructor.ablation --data-dir")
               for run in runs.values())

    (out / "ablation.md").unlink()
    assert ablation.main(["--render-only", "--out", str(out)]) == 0
    assert (out / "ablation.md").read_text() == table
    assert ablation.main(["--render-only", "--out", str(tmp_path / "empty")]) == 1
