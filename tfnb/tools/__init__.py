"""Graph tools (TF1's ``tensorflow/tools``): graph transforms over trained models."""
