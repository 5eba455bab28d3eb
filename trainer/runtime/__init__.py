"""What a model bundle needs at tagging time, and nothing of training or of the app.

``audio`` decodes files and cuts windows, ``features`` turns windows into model inputs, ``models``
holds each family's architecture with its load and predict, ``bundle`` reads and checks a bundle,
``device`` chooses where tensors live, ``errors`` is the family of faults a user can cause, and
``resources`` names the bundles shipped with the app. The app (``tagger``) and the training code
(the rest of ``trainer``) both import this package; it imports neither, and a test holds it to that.
Submodules import their heavy libraries themselves, so importing the package costs nothing.
"""
