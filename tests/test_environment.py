"""The pinned stack imports together: the project is built on these packages."""

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["torch", "torchvision", "lightning", "decord", "pytorch_grad_cam", "av", "cv2"]
)
def test_stack_imports(module: str) -> None:
    importlib.import_module(module)


def test_grad_cam_decord_torchvision_lightning_together() -> None:
    import decord
    import lightning
    import pytorch_grad_cam
    import torch
    import torchvision

    assert hasattr(pytorch_grad_cam, "GradCAM")
    assert hasattr(decord, "VideoReader")
    assert lightning.__version__
    # torchvision's compiled ops must load against this torch (a mismatched pair fails here).
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]


def test_h264_writer_available() -> None:
    import av

    assert "libx264" in av.codecs_available or "h264" in av.codecs_available


def test_console_script_help(capsys: pytest.CaptureFixture[str]) -> None:
    from musclemap_lib.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--help"])
    assert exc.value.code == 0
    assert "synth" in capsys.readouterr().out
