"""``tf.contrib.seq2seq`` (TF 1.15): attention, decoders, helpers, beam search, losses.

- :mod:`.attention_wrapper`: ``BahdanauAttention``, ``LuongAttention``, ``AttentionWrapper``.
- :mod:`.decoder`: ``BasicDecoder``, the helpers and ``dynamic_decode``.
- :mod:`.beam_search_decoder`: ``BeamSearchDecoder``, ``gather_tree``, ``tile_batch``.
- ``sequence_loss`` over ``[batch, time, classes]`` logits.
"""
from ...ops.beam_search import beam_search_decode  # noqa: F401
from ...ops.rnn import seq2seq_sequence_loss as sequence_loss  # noqa: F401
from .attention_wrapper import (AttentionMechanism, AttentionWrapper,  # noqa: F401
                                AttentionWrapperState, BahdanauAttention, LuongAttention,
                                hardmax)
from .beam_search_decoder import (BeamSearchDecoder, BeamSearchDecoderOutput,  # noqa: F401
                                  BeamSearchDecoderState, FinalBeamSearchDecoderOutput,
                                  gather_tree, tile_batch)
from .decoder import (BasicDecoder, BasicDecoderOutput, CustomHelper, Decoder,  # noqa: F401
                      GreedyEmbeddingHelper, Helper, SampleEmbeddingHelper,
                      ScheduledEmbeddingTrainingHelper, TrainingHelper, dynamic_decode)
