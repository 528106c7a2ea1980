"""tf.contrib.tensorboard.plugins.projector writes the ProjectorConfig text format."""
import pytest

import tfnb as tf
from tfnb.contrib.tensorboard.plugins import projector


def test_projector_config_text(tmp_path):
    config = projector.ProjectorConfig()
    emb = config.embeddings.add()
    emb.tensor_name = "embeddings/embeddings"
    emb.metadata_path = "meta \"x\".tsv"
    emb.sprite.image_path = "sprite.png"
    emb.sprite.single_image_dim.extend([28, 28])
    writer = tf.summary.FileWriter(str(tmp_path))
    projector.visualize_embeddings(writer, config)
    writer.close()
    assert (tmp_path / "projector_config.pbtxt").read_text() == (
        'embeddings {\n  tensor_name: "embeddings/embeddings"\n  metadata_path: "meta \\"x\\".tsv"\n'
        '  sprite {\n    image_path: "sprite.png"\n    single_image_dim: 28\n'
        '    single_image_dim: 28\n  }\n}\n')
    assert tf.contrib.tensorboard.plugins.projector is projector
    config.embeddings.add()
    with pytest.raises(ValueError, match="tensor_name"):
        config.to_text()
