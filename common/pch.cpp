// Empty: the precompiled header shared by every program is built from this target.
