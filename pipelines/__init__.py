"""The Kubeflow pipeline: wiring of the stage components, and the compile command."""
