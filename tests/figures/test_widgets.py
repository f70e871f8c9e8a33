"""The explorer's callbacks, driven by setting widget values (no browser)."""

from __future__ import annotations

import figfixtures
import numpy as np
import pytest
import torch

from musclemap_lib.figures import widgets

# Fixtures shared with the other figure tests.
fake_results = figfixtures.fake_results


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def explorer(fake_results, smoke_data):
    return widgets.Explorer("smoke", data=smoke_data, results=fake_results)


def test_listings(fake_results):
    assert widgets.available_profiles(fake_results) == ["smoke"]
    assert widgets.available_models("smoke", fake_results) == ["mvitv2_s", "stgcn"]
    clips = widgets.available_clips("smoke", "mvitv2_s", "new_test", fake_results)
    scores, labels = widgets.clip_scores("smoke", "mvitv2_s", "new_test", clips[0], fake_results)
    assert scores.shape == labels.shape == (20,)
    with pytest.raises(KeyError, match="no clip"):
        widgets.clip_scores("smoke", "mvitv2_s", "new_test", "nope", fake_results)
    with pytest.raises(FileNotFoundError, match="musclemap train"):
        widgets.load_split_scores("smoke", "ctrgcn", "new_test", fake_results)


def test_unknown_profile_is_a_clear_error(fake_results):
    with pytest.raises(FileNotFoundError, match="no results for profile 'cpu'"):
        widgets.Explorer("cpu", results=fake_results)


def test_initial_state_shows_first_clip(explorer, fake_results):
    clips = widgets.available_clips("smoke", "mvitv2_s", "known_test", fake_results)
    assert explorer.model.value == "mvitv2_s" and explorer.split.value == "known_test"
    assert list(explorer.clip_id.options) == clips and explorer.clip_id.value == clips[0]
    scores, _ = widgets.clip_scores("smoke", "mvitv2_s", "known_test", clips[0], fake_results)
    assert np.allclose(explorer.scores["score"], np.round(scores, 3))
    assert {"frame", "body"} <= set(explorer.figures) and explorer.message == ""
    assert explorer.frame.max == len(explorer.clip["frames"]) - 1


def test_split_and_clip_changes_update_outputs(explorer, fake_results):
    before = explorer.scores.copy()
    explorer.split.value = "new_test"
    new_clips = widgets.available_clips("smoke", "mvitv2_s", "new_test", fake_results)
    assert list(explorer.clip_id.options) == new_clips
    assert explorer.clip["activity"].replace(" ", "_") in explorer.clip_id.value
    explorer.clip_id.value = new_clips[3]
    scores, labels = widgets.clip_scores(
        "smoke", "mvitv2_s", "new_test", new_clips[3], fake_results
    )
    assert np.allclose(explorer.scores["score"], np.round(scores, 3))
    assert list(explorer.scores["active"]) == labels.astype(int).tolist()
    assert not explorer.scores.equals(before)


def test_model_change_reloads_scores(explorer, fake_results):
    clip = explorer.clip_id.value
    explorer.model.value = "stgcn"
    assert explorer.clip_id.value == clip  # same clip kept
    scores, _ = widgets.clip_scores("smoke", "stgcn", "known_test", clip, fake_results)
    assert np.allclose(explorer.scores["score"], np.round(scores, 3))


def test_frame_slider_and_skeleton_toggle_redraw(explorer):
    explorer.frame.value = explorer.frame.max
    fig = explorer.figures["frame"]
    assert f"frame {explorer.frame.max + 1}/" in fig.axes[0].get_title()
    lines_with = len(fig.axes[0].lines)
    explorer.skeleton.value = False
    assert lines_with > 0 and len(explorer.figures["frame"].axes[0].lines) == 0


def test_gradcam_on_demand_and_missing_checkpoint(explorer):
    explorer.on_gradcam()  # mvitv2_s has a (random-init) checkpoint
    assert explorer.figures["gradcam"] is not None and explorer.message == ""
    explorer.model.value = "stgcn"
    assert "gradcam" not in explorer.figures  # cleared when the selection changes
    explorer.on_gradcam()
    assert explorer.figures["gradcam"] is None
    assert "no checkpoint for stgcn" in explorer.message and "not committed" in explorer.message


def test_missing_data_folder_says_so(fake_results, tmp_path):
    ex = widgets.Explorer("smoke", data=tmp_path, results=fake_results)
    assert ex.clip is None and "frames unavailable" in ex.message
    assert ex.scores is not None  # scores need no data
