"""Deno's file API inside the function's own directory: what each call does, checked on disk."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.capabilities.conftest import RunFunction, answer


async def test_write_text_then_read_it_back(run_js: RunFunction, tmp_path: Path):
    jail = tmp_path / "jail"
    result = await run_js("""
        await Deno.writeTextFile("notes.txt", "héllo ✓");
        return await Deno.readTextFile("notes.txt");
    """)
    assert answer(result) == "héllo ✓"
    assert (jail / "notes.txt").read_text() == "héllo ✓"


async def test_binary_files_round_trip_as_uint8_arrays(run_js: RunFunction, tmp_path: Path):
    result = await run_js("""
        await Deno.writeFile("blob.bin", new Uint8Array(256).map((_, i) => i));
        const bytes = await Deno.readFile("blob.bin");
        return [bytes instanceof Uint8Array, Array.from(bytes)];
    """)
    assert answer(result) == [True, list(range(256))]
    assert (tmp_path / "jail" / "blob.bin").read_bytes() == bytes(range(256))


async def test_append_adds_and_create_false_refuses_a_missing_file(run_js: RunFunction):
    result = await run_js("""
        await Deno.writeTextFile("log.txt", "a");
        await Deno.writeTextFile("log.txt", "b", { append: true });
        let missing;
        try { await Deno.writeTextFile("nope.txt", "x", { create: false }); }
        catch (e) { missing = e instanceof Deno.errors.NotFound; }
        let exists;
        try { await Deno.writeTextFile("log.txt", "x", { createNew: true }); }
        catch (e) { exists = e instanceof Deno.errors.AlreadyExists; }
        return [await Deno.readTextFile("log.txt"), missing, exists];
    """)
    assert answer(result) == ["ab", True, True]


async def test_a_missing_file_rejects_with_not_found(run_js: RunFunction):
    result = await run_js("""
        try { await Deno.readTextFile("missing.txt"); }
        catch (e) { return [e instanceof Deno.errors.NotFound, e.message]; }
    """)
    is_not_found, message = answer(result)
    assert is_not_found
    assert "'missing.txt'" in message
    assert "/jail" not in message  # the server's own paths never show


async def test_mkdir_read_dir_and_stat(run_js: RunFunction):
    result = await run_js("""
        await Deno.mkdir("a/b/c", { recursive: true });
        await Deno.mkdir("a/b/c", { recursive: true });  // exists: fine when recursive
        await Deno.writeTextFile("a/file.txt", "12345");
        const names = [];
        for await (const entry of Deno.readDir("a")) {
          names.push([entry.name, entry.isFile, entry.isDirectory, entry.isSymlink]);
        }
        names.sort();
        const info = await Deno.stat("a/file.txt");
        const dir = await Deno.stat("a");
        return { names, size: info.size, isFile: info.isFile, mtime: info.mtime instanceof Date,
                 dir: dir.isDirectory };
    """)
    assert answer(result) == {
        "names": [["b", False, True, False], ["file.txt", True, False, False]],
        "size": 5,
        "isFile": True,
        "mtime": True,
        "dir": True,
    }


async def test_mkdir_without_recursive_needs_the_parent_and_refuses_an_existing_one(
    run_js: RunFunction,
):
    result = await run_js("""
        const errors = [];
        try { await Deno.mkdir("x/y"); } catch (e) { errors.push(e.name); }
        await Deno.mkdir("x");
        try { await Deno.mkdir("x"); } catch (e) { errors.push(e.name); }
        return errors;
    """)
    assert answer(result) == ["NotFound", "AlreadyExists"]


async def test_remove_files_and_directories(run_js: RunFunction, tmp_path: Path):
    result = await run_js("""
        await Deno.mkdir("tree/sub", { recursive: true });
        await Deno.writeTextFile("tree/sub/f.txt", "x");
        await Deno.writeTextFile("single.txt", "x");
        await Deno.remove("single.txt");
        let notEmpty;
        try { await Deno.remove("tree"); } catch (e) { notEmpty = e.name; }
        await Deno.remove("tree", { recursive: true });
        const left = [];
        for await (const entry of Deno.readDir(".")) left.push(entry.name);
        return [notEmpty, left];
    """)
    assert answer(result) == ["Error", []]
    assert list((tmp_path / "jail").iterdir()) == []


async def test_absolute_paths_inside_the_directory_are_allowed(run_js: RunFunction, tmp_path):
    jail = tmp_path / "jail"
    result = await run_js(f"""
        await Deno.writeTextFile("{jail}/abs.txt", "ok");
        return await Deno.readTextFile("abs.txt");
    """)
    assert answer(result) == "ok"


async def test_sync_variants_say_they_are_not_supported(run_js: RunFunction):
    result = await run_js("""
        try { Deno.readTextFileSync("x"); } catch (e) { return [e.name, e.message]; }
    """)
    name, message = answer(result)
    assert name == "NotSupported"
    assert "await Deno.readTextFile" in message
