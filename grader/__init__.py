"""Automated grader for IA3 fine-tuning homework on MindSpore + MindNLP."""

__version__ = "0.1.0"
