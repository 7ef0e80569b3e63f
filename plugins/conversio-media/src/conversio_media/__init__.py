"""conversio-media: audio and video through ffmpeg."""
