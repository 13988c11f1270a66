"""What tests share: builders, local servers, feed checkers, paths. Not tests themselves."""
