"""Signatures: named inputs and outputs of a SavedModel's graph (TF1's
``tf.saved_model.signature_def_utils``)."""
from ..io import protos
from . import signature_constants
from .utils import build_tensor_info

__all__ = ["build_signature_def", "predict_signature_def", "classification_signature_def",
           "regression_signature_def", "is_valid_signature"]


def build_signature_def(inputs=None, outputs=None, method_name=None):
    """A ``SignatureDef`` from ``{key: TensorInfo}`` maps and a method name."""
    sig = protos.load().SignatureDef()
    for key, info in (inputs or {}).items():
        sig.inputs[key].CopyFrom(info)
    for key, info in (outputs or {}).items():
        sig.outputs[key].CopyFrom(info)
    if method_name is not None:
        sig.method_name = method_name
    return sig


def predict_signature_def(inputs, outputs):
    """A predict signature (TF Serving's Predict API) over ``{key: Tensor}`` maps.

    Raises:
        ValueError: no inputs or no outputs.
    """
    if not inputs:
        raise ValueError("Prediction inputs cannot be None or empty.")
    if not outputs:
        raise ValueError("Prediction outputs cannot be None or empty.")
    return build_signature_def({k: build_tensor_info(t) for k, t in inputs.items()},
                               {k: build_tensor_info(t) for k, t in outputs.items()},
                               signature_constants.PREDICT_METHOD_NAME)


def classification_signature_def(examples, classes, scores):
    """A classify signature: serialized ``tf.Example`` strings -> classes and/or scores."""
    if examples is None:
        raise ValueError("Classification examples cannot be None.")
    if classes is None and scores is None:
        raise ValueError("Classification classes and scores cannot both be None.")
    outputs = {}
    if classes is not None:
        outputs[signature_constants.CLASSIFY_OUTPUT_CLASSES] = build_tensor_info(classes)
    if scores is not None:
        outputs[signature_constants.CLASSIFY_OUTPUT_SCORES] = build_tensor_info(scores)
    return build_signature_def({signature_constants.CLASSIFY_INPUTS: build_tensor_info(examples)},
                               outputs, signature_constants.CLASSIFY_METHOD_NAME)


def regression_signature_def(examples, predictions):
    """A regress signature: serialized ``tf.Example`` strings -> predictions."""
    if examples is None or predictions is None:
        raise ValueError("Regression examples and predictions cannot be None.")
    return build_signature_def(
        {signature_constants.REGRESS_INPUTS: build_tensor_info(examples)},
        {signature_constants.REGRESS_OUTPUTS: build_tensor_info(predictions)},
        signature_constants.REGRESS_METHOD_NAME)


def is_valid_signature(signature_def):
    """Whether a SignatureDef is well-formed for its method (TF Serving's checks)."""
    if signature_def is None or not signature_def.method_name:
        return False
    if not signature_def.inputs or not signature_def.outputs:
        return signature_def.method_name not in (signature_constants.PREDICT_METHOD_NAME,
                                                 signature_constants.CLASSIFY_METHOD_NAME,
                                                 signature_constants.REGRESS_METHOD_NAME)
    return all(info.name for info in list(signature_def.inputs.values()) +
               list(signature_def.outputs.values()))
