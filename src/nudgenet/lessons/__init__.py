"""The lessons: each idea of the note as a computation you can run, print and draw."""
