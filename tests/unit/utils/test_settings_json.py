"""Settings dataclasses saved beside a checkpoint: the JSON round trip, and a file from another version."""

from __future__ import annotations

import pytest

from reade.models.camera_encoder import CameraEncoderConfig
from reade.models.camera_input import INPUT_FILE, CameraInputSettings
from reade.models.settings import SETTINGS_FILE, ProcessorSettings


def test_each_settings_class_reads_back_what_it_wrote(tmp_path):
    encoder = CameraEncoderConfig.tiny()
    encoder.save(tmp_path / "camera_encoder.json")
    assert CameraEncoderConfig.load(tmp_path / "camera_encoder.json") == encoder
    inputs = CameraInputSettings(max_frames=8, height=32, width=48)
    inputs.save(tmp_path)
    assert CameraInputSettings.load(tmp_path / INPUT_FILE) == inputs
    processor = ProcessorSettings()
    processor.save(tmp_path)
    assert ProcessorSettings.load(tmp_path / SETTINGS_FILE) == processor


def test_an_unknown_key_names_the_file_the_class_and_the_key(tmp_path):
    file = tmp_path / "camera_encoder.json"
    file.write_text('{"patch_size": 2, "patch_sise": 3}')
    with pytest.raises(ValueError, match=r"camera_encoder\.json: unknown CameraEncoderConfig settings \['patch_sise'\]"):
        CameraEncoderConfig.load(file)
