"""Tasks behind one interface (preprocess, collate, model class, metrics, postprocess) and the windowing, entity
decoding and answer-span search that training, evaluation and inference share."""
