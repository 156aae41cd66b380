"""The ablation's variants of the optimised model (Question 3.3), and how each is applied.

Each variant is the teacher notebook's own ``build_optimized_cnn`` and ``train_optimized_cnn``
with exactly one ingredient changed. The change is made from outside, so the notebook's solution
stays the one students see: layers are removed from the built model's configuration (a fresh
model is made from it), the loss or optimiser handed to ``model.compile`` is swapped for a copy
with one setting changed, or a helper of ``utils.training`` that the recipe calls is given other
settings while it trains. ``cutout-8``, ``cutout-12``, ``dropout`` and ``ema`` add an ingredient
the recipe does not use yet.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Callable

import numpy as np


def _copy(obj, **changes):
    """A fresh Keras loss or optimiser like *obj*, with some of its settings changed.

    An optimiser's ``exclude_from_weight_decay`` choice is not part of its config; it is carried
    over from Keras's private attributes, as no public API reads it back.
    """
    copy = type(obj).from_config({**obj.get_config(), **changes})
    for excluded in ("_exclude_from_weight_decay", "_exclude_from_weight_decay_pattern"):
        if hasattr(obj, excluded):
            setattr(copy, excluded, getattr(obj, excluded))
    return copy


def _schedule_mean(optimizer) -> float:
    """The learning rate the optimiser's schedule gives on average over its steps."""
    import keras

    config = optimizer.get_config()["learning_rate"]
    if not isinstance(config, dict):
        return float(config)
    schedule = keras.optimizers.schedules.deserialize(config)
    inner = config["config"]
    steps = int(inner.get("decay_steps", 0)) + int(inner.get("warmup_steps") or 0)
    return float(np.mean([float(schedule(step)) for step in range(max(steps, 1))]))


def _no_label_smoothing(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "loss": _copy(compile_kwargs["loss"], label_smoothing=0.0)}


def _constant_learning_rate(compile_kwargs: dict) -> dict:
    optimizer = compile_kwargs["optimizer"]
    return {**compile_kwargs,
            "optimizer": _copy(optimizer, learning_rate=_schedule_mean(optimizer))}


def _no_weight_decay(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "optimizer": _copy(compile_kwargs["optimizer"], weight_decay=None)}


def _weight_averaging(compile_kwargs: dict) -> dict:
    return {**compile_kwargs, "optimizer": _copy(compile_kwargs["optimizer"], use_ema=True,
                                                  ema_momentum=0.99)}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of training the optimised model: what differs from the recipe, and how."""

    name: str
    change: str  # what differs from the recipe, in words
    drop_layers: tuple[str, ...] = ()  # layer classes removed from the built model
    compile_change: Callable[[dict], dict] | None = None  # model.compile's arguments, changed
    augmentation: dict | None = None  # settings passed to utils.training.augmented_batches
    learned_first_layer: bool = False  # the patch-whitening layer trained from a random start
    builtin_layers: bool = False  # MaxPooling2D and the augmentation layers in the model, no XLA
    filters: tuple[tuple[int, int], ...] = ()  # (old, new) filter counts of the convolutions
    dropout: float = 0.0  # a Dropout layer of this rate just before the output layer


#: Settings of ``utils.training.augmented_batches`` that turn its flips and shifts off.
NO_AUGMENTATION = {"flip": False, "shift": 0}

VARIANTS = {v.name: v for v in (
    Variant("recipe", "the notebook's model and training, unchanged"),
    Variant("no-augmentation", "no random flips or shifts of the training images",
            augmentation=NO_AUGMENTATION),
    Variant("no-translation", "random flips kept, no random shifts",
            augmentation={"shift": 0}),
    Variant("no-batchnorm", "no batch normalisation (the convolutions get their biases back)",
            drop_layers=("BatchNormalization",)),
    Variant("no-label-smoothing", "plain cross-entropy (label smoothing 0)",
            compile_change=_no_label_smoothing),
    Variant("constant-lr", "no warm-up or cosine decay: the schedule's mean learning rate "
            "throughout", compile_change=_constant_learning_rate),
    Variant("no-weight-decay", "no weight decay", compile_change=_no_weight_decay),
    Variant("shift-4", "random shifts of up to 4 pixels instead of 2",
            augmentation={"shift": 4}),
    Variant("width-1.5x", "blocks 1.5 times as wide: 48, 192, 192 filters instead of 32, 128, 128",
            filters=((32, 48), (128, 192))),
    Variant("width-2x", "blocks twice as wide: 64, 256, 256 filters (airbench's widths)",
            filters=((32, 64), (128, 256))),
    Variant("no-whitening", "the first layer (2 x 2, 24 filters) is an ordinary convolution, "
            "trained from a random start, instead of fixed patch-whitening filters",
            learned_first_layer=True),
    Variant("cutout-8", "added: Cutout, a random 8 x 8 square of each training image painted "
            "grey", augmentation={"cutout": 8}),
    Variant("cutout-12", "added: Cutout, a random 12 x 12 square of each training image painted "
            "grey", augmentation={"cutout": 12}),
    Variant("dropout", "added: dropout (rate 0.3) of the pooled features before the output layer",
            dropout=0.3),
    Variant("ema", "added: the final weights are an exponential moving average (0.99) of the "
            "last steps' weights", compile_change=_weight_averaging),
    Variant("builtin-layers", "the same network written with built-in layers only "
            "(MaxPooling2D; RandomFlip and RandomTranslation inside the model) and trained "
            "without XLA: what the fast form buys in time", builtin_layers=True,
            augmentation=NO_AUGMENTATION,
            compile_change=lambda kwargs: {**kwargs, "jit_compile": False}),
)}


def _scaled_learning_rate(optimizer, factor: float):
    """The optimiser's learning rate (a number or a schedule's config) times *factor*."""
    config = optimizer.get_config()["learning_rate"]
    if not isinstance(config, dict):
        return float(config) * factor
    inner = dict(config["config"])
    for key in ("initial_learning_rate", "warmup_target"):
        if inner.get(key) is not None:
            inner[key] = float(inner[key]) * factor
    return {**config, "config": inner}


def adjusted(variant: Variant, *, learning_rate_scale: float = 1.0,
             weight_decay_scale: float = 1.0) -> Variant:
    """*variant* with the optimiser's learning rate and weight decay scaled: a sweep on top of any
    variant. Unchanged settings give *variant* itself back.

    The copied optimiser keeps the recipe's choice of what weight decay spares (batch
    normalisation's scale and offset).
    """
    if learning_rate_scale == 1 and weight_decay_scale == 1:
        return variant
    suffixes, changes = [], []
    if learning_rate_scale != 1:
        suffixes.append(f"lr×{learning_rate_scale:g}")
        changes.append(f"learning rate ×{learning_rate_scale:g}")
    if weight_decay_scale != 1:
        suffixes.append(f"wd×{weight_decay_scale:g}")
        changes.append(f"weight decay ×{weight_decay_scale:g}")

    def compile_change(kwargs: dict) -> dict:
        if variant.compile_change:
            kwargs = variant.compile_change(kwargs)
        optimizer = kwargs["optimizer"]
        decay = optimizer.get_config().get("weight_decay")
        if weight_decay_scale != 1 and not decay:
            raise ValueError(f"{variant.name}: the optimiser has no weight decay to scale")
        optimizer = _copy(optimizer, learning_rate=_scaled_learning_rate(optimizer,
                                                                         learning_rate_scale),
                          weight_decay=decay * weight_decay_scale if decay else decay)
        return {**kwargs, "optimizer": optimizer}

    return dataclasses.replace(
        variant, name="+".join([variant.name, *suffixes]),
        change=f"{variant.change}; {', '.join(changes)}", compile_change=compile_change)


def with_builtin_layers(model):
    """A fresh copy of *model* in built-in Keras layers: ``MaxPooling2D`` for ``MaxPooling2x2``,
    and the recipe's flips and shifts as ``RandomFlip``/``RandomTranslation`` at its start."""
    import keras
    from keras import layers

    from utils.training import MaxPooling2x2, augmentation_layers

    if not any(isinstance(layer, MaxPooling2x2) for layer in model.layers):
        raise ValueError("builtin-layers: the model has no MaxPooling2x2 to replace")
    copies = [layers.MaxPooling2D((2, 2)) if isinstance(layer, MaxPooling2x2)
              else type(layer).from_config(layer.get_config()) for layer in model.layers]
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]),
                             *augmentation_layers(model.input_shape[1:3]), *copies])


def build_variant(variant: Variant, functions: dict):
    """The notebook's optimised model with *variant*'s layer changes (rebuilt from its config)."""
    import keras

    model = functions["build_optimized_cnn"]()
    if variant.drop_layers or variant.filters:
        config = model.get_config()
        kept = [layer for layer in config["layers"]
                if layer["class_name"] not in variant.drop_layers]
        if len(kept) == len(config["layers"]) and variant.drop_layers:
            raise ValueError(f"{variant.name}: the model has no {', '.join(variant.drop_layers)}")
        convolutions = [layer["config"] for layer in kept if layer["class_name"] == "Conv2D"]
        if "BatchNormalization" in variant.drop_layers:
            for convolution in convolutions:
                convolution["use_bias"] = True
        widths = dict(variant.filters)
        if widths and not any(c["filters"] in widths for c in convolutions):
            raise ValueError(f"{variant.name}: the model has no convolution with "
                             f"{' or '.join(map(str, widths))} filters")
        for convolution in convolutions:
            convolution["filters"] = widths.get(convolution["filters"], convolution["filters"])
        # Each layer is built afresh for its new input (the saved input shapes may be stale).
        kept = [{key: value for key, value in layer.items() if key != "build_config"}
                for layer in kept]
        model = keras.Sequential.from_config({**config, "layers": kept})
    if variant.builtin_layers:
        model = with_builtin_layers(model)
    if variant.dropout:
        *features, output = model.layers
        model = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *features,
                                  keras.layers.Dropout(variant.dropout), output])
    if variant.learned_first_layer:
        _whitening_layer(model, variant.name).trainable = True
    return model


#: The name of the recipe's patch-whitening layer in ``build_optimized_cnn``.
WHITENING_LAYER = "patch_whitening"


def _whitening_layer(model, name: str):
    try:
        return model.get_layer(WHITENING_LAYER)
    except ValueError:
        raise ValueError(f"{name}: the model has no layer named {WHITENING_LAYER!r}") from None


@contextlib.contextmanager
def _replaced_in_training(attribute: str, replacement: Callable, name: str, purpose: str):
    """While the block runs, ``utils.training.<attribute>`` is *replacement* (called with the
    original first). Raises afterwards if the training never called it, so that a variant cannot
    silently measure the recipe itself."""
    from utils import training

    original = getattr(training, attribute)
    calls = []

    def recorded(*args, **kwargs):
        calls.append(kwargs)
        return replacement(original, *args, **kwargs)

    setattr(training, attribute, recorded)
    try:
        yield
    finally:
        setattr(training, attribute, original)
    if not calls:
        raise ValueError(f"{name}: train_optimized_cnn does not use utils.training.{attribute}, "
                         f"so {purpose} cannot be changed")


def random_first_layer(name: str, active: bool):
    """While the block runs, ``utils.training.patch_whitening`` gives random starting weights
    (Keras's defaults for a ``Conv2D``: Glorot-uniform kernel, zero bias) instead of whitening
    filters."""
    if not active:
        return contextlib.nullcontext()
    import keras

    def random_weights(_original, images, size: int = 2, **_):
        channels = np.shape(images)[-1]
        shape = (size, size, channels, 2 * size * size * channels)
        kernel = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform()(shape))
        return [kernel, np.zeros(shape[-1], np.float32)]

    return _replaced_in_training("patch_whitening", random_weights, name, "its first layer")


def augmentation_settings(name: str, changes: dict | None):
    """While the block runs, ``utils.training.augmented_batches`` gets *changes* as settings.

    The recipe makes its flips and shifts in the input pipeline; this is how a variant turns them
    off without touching the notebook.
    """
    if not changes:
        return contextlib.nullcontext()

    def changed(original, *args, **kwargs):
        return original(*args, **{**kwargs, **changes})

    return _replaced_in_training("augmented_batches", changed, name, "its augmentation")
