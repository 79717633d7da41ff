"""The SDLC loop: work items through lanes, review, the merge queue and back to the forge."""
